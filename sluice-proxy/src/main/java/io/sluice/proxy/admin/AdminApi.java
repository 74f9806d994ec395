package io.sluice.proxy.admin;

import io.sluice.balance.Pool;
import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.AdminState;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.server.SluiceServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URLDecoder;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The admin API (DESIGN.md §8): health, readiness, metrics, pools and their endpoints, config and reload.
 *
 * <p>Every answer is JSON except {@code /metrics} (Prometheus text) and the dashboard. When a token is configured
 * every request but {@code /healthz} and the dashboard page must carry {@code Authorization: Bearer TOKEN}.
 * Changes made here (weights, drains, added endpoints) last until the next reload, like HAProxy's runtime API.
 */
final class AdminApi {

    /** An answer. */
    record Response(int status, String contentType, byte[] body) {
        static Response json(int status, String json) {
            return new Response(status, "application/json", json.getBytes(StandardCharsets.UTF_8));
        }

        static Response text(int status, String text) {
            return new Response(status, "text/plain; charset=utf-8", text.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final SluiceServer server;
    private final Optional<byte[]> token;
    private final byte[] dashboard;

    AdminApi(SluiceServer server, Optional<String> token) {
        this.server = server;
        this.token = token.map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8));
        this.dashboard = resource("dashboard.html");
    }

    private static byte[] resource(String name) {
        try (InputStream in = AdminApi.class.getResourceAsStream(name)) {
            return in == null ? "<h1>Sluice</h1>".getBytes(StandardCharsets.UTF_8) : in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Handles one request. */
    Response handle(String method, String uri, String authorization, String body) {
        String path = uri.indexOf('?') >= 0 ? uri.substring(0, uri.indexOf('?')) : uri;
        if (path.equals("/healthz")) {
            return Response.json(200, "{\"status\":\"live\"}");
        }
        if (path.equals("/") || path.equals("/dashboard")) {
            return new Response(200, "text/html; charset=utf-8", dashboard);
        }
        if (token.isPresent() && (authorization == null || !MessageDigest.isEqual(token.get(),
                authorization.strip().getBytes(StandardCharsets.UTF_8)))) {
            return Response.json(401, "{\"error\":\"missing or wrong bearer token\"}");
        }
        String[] parts = path.substring(1).split("/");
        try {
            return switch (path) {
                case "/readyz" -> readyz();
                case "/metrics" -> metrics();
                case "/api/v1/pools" -> method.equals("GET") ? json(200, pools()) : notAllowed(method, path);
                case "/api/v1/config" -> method.equals("GET") ? config() : notAllowed(method, path);
                case "/api/v1/reload" -> method.equals("POST") ? reload() : notAllowed(method, path);
                default -> parts.length >= 4 && parts[0].equals("api") && parts[1].equals("v1")
                        && parts[2].equals("pools") ? poolRequest(method, parts, body) : notFound(path);
            };
        } catch (IllegalArgumentException e) {
            return error(400, e.getMessage());
        }
    }

    private Response readyz() {
        List<String> problems = new ArrayList<>();
        if (!server.ready()) {
            problems.add("listeners are not bound");
        }
        var referenced = server.runtime().config().referencedPools();
        long now = server.clock().nanoTime();
        for (PoolRuntime p : server.runtime().pools()) {
            // A pool in panic mode still sends traffic, but to endpoints none of which is known to work: not ready.
            if (!p.config().optional() && referenced.contains(p.name())
                    && p.pool().members().stream().noneMatch(m -> m.usable(now))) {
                problems.add("pool " + p.name() + " has no usable endpoint");
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ready", problems.isEmpty());
        out.put("problems", problems);
        return json(problems.isEmpty() ? 200 : 503, out);
    }

    private Response metrics() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            server.metrics().write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Response(200, ProxyMetrics.contentType(), out.toByteArray());
    }

    private List<Map<String, Object>> pools() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (PoolRuntime p : server.runtime().pools()) {
            out.add(describe(p));
        }
        return out;
    }

    private Map<String, Object> describe(PoolRuntime p) {
        long now = server.clock().nanoTime();
        EndpointSet snapshot = p.pool().snapshot();
        Map<String, Object> pool = new LinkedHashMap<>();
        pool.put("name", p.name());
        pool.put("policy", p.config().policy());
        pool.put("mode", snapshot.mode().name().toLowerCase());
        pool.put("candidates", snapshot.size());
        List<Map<String, Object>> endpoints = new ArrayList<>();
        for (Member m : snapshot.members()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("address", m.address().toString());
            e.put("weight", m.endpoint().weight());
            int at = snapshot.candidates().indexOf(m);
            e.put("effective_weight", at >= 0 ? snapshot.weight(at) : 0.0);
            e.put("backup", m.endpoint().backup());
            e.put("state", state(m, now));
            server.health().checker(m).ifPresent(c -> e.put("health_check", Map.of(
                    "state", c.state().name().toLowerCase(), "passes_in_a_row", c.consecutivePasses(),
                    "failures_in_a_row", c.consecutiveFailures(), "probes", c.probes())));
            p.outlier().ifPresent(d -> e.put("ejections", d.ejections(m)));
            e.put("active_requests", m.load().activeRequests());
            e.put("connections", m.load().activeConnections());
            e.put("requests_total", m.load().totalRequests());
            e.put("failures_total", m.load().totalFailures());
            e.put("latency_ewma_ms", m.load().latencyEwmaNanos() / 1e6);
            if (!m.endpoint().labels().isEmpty()) {
                e.put("labels", m.endpoint().labels());
            }
            endpoints.add(e);
        }
        pool.put("endpoints", endpoints);
        return pool;
    }

    private static String state(Member m, long now) {
        if (m.adminState() == AdminState.DRAINING) {
            return "draining";
        }
        if (m.ejected(now)) {
            return "ejected";
        }
        if (!m.checkPassing()) {
            return "unhealthy";
        }
        return "healthy";
    }

    private Response poolRequest(String method, String[] parts, String body) {
        String name = decode(parts[3]);
        Optional<PoolRuntime> found = server.runtime().pool(name);
        if (found.isEmpty()) {
            return error(404, "no pool named " + name);
        }
        PoolRuntime runtime = found.get();
        Pool pool = runtime.pool();
        if (parts.length == 4) {
            return method.equals("GET") ? json(200, describe(runtime)) : notAllowed(method, "/api/v1/pools/" + name);
        }
        if (!parts[4].equals("endpoints")) {
            return notFound(String.join("/", parts));
        }
        if (parts.length == 5) {
            if (!method.equals("POST")) {
                return notAllowed(method, "endpoints");
            }
            JsonNode req = parse(body);
            Address address = Address.parse(text(req, "address"));
            if (address.port() == 0) {
                throw new IllegalArgumentException("address: port 0 is out of range (1-65535)");
            }
            int weight = req.has("weight") ? intIn(req, "weight", 1, 10_000) : 1;
            boolean backup = req.has("backup") && req.get("backup").asBoolean();
            try {
                runtime.resolve(address);
            } catch (UnknownHostException e) {
                return error(400, "cannot resolve host " + address.host());
            }
            Member added = pool.add(new Endpoint(address, weight, backup, Map.of()));
            return json(201, Map.of("address", added.address().toString(), "weight", weight, "state",
                    added.checkPassing() ? "healthy" : "unhealthy (waiting for its health check)"));
        }
        Address address = Address.parse(decode(parts[5]));
        if (parts.length == 6) {
            if (!method.equals("DELETE")) {
                return notAllowed(method, "endpoints/" + address);
            }
            return pool.remove(address).isPresent() ? json(200, Map.of("removed", address.toString()))
                    : error(404, "no endpoint " + address + " in pool " + name);
        }
        String action = parts[6];
        return switch (action) {
            case "drain", "enable" -> {
                if (!method.equals("POST")) {
                    yield notAllowed(method, action);
                }
                AdminState target = action.equals("drain") ? AdminState.DRAINING : AdminState.ENABLED;
                if (pool.setAdminState(address, target).isEmpty()) {
                    yield error(404, "no endpoint " + address + " in pool " + name);
                }
                if (target == AdminState.DRAINING) {
                    // Connections in use close after their current response; idle ones can go now.
                    server.sweepIdleConnections();
                }
                yield json(200, Map.of("address", address.toString(), "state", target.name().toLowerCase()));
            }
            case "weight" -> {
                if (!method.equals("PUT")) {
                    yield notAllowed(method, action);
                }
                int weight = intIn(parse(body), "weight", 1, 10_000);
                yield pool.setWeight(address, weight).isPresent()
                        ? json(200, Map.of("address", address.toString(), "weight", weight))
                        : error(404, "no endpoint " + address + " in pool " + name);
            }
            default -> notFound(action);
        };
    }

    private Response config() {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("source", server.runtime().config().source());
        out.put("config", server.runtime().config());
        return json(200, out);
    }

    private Response reload() {
        try {
            server.reloadFromSource();
            return json(200, Map.of("status", "reloaded", "source", server.runtime().config().source()));
        } catch (ConfigException e) {
            List<String> errors = e.errors().stream().map(ConfigError::toString).toList();
            return json(400, Map.of("status", "refused", "errors", errors));
        }
    }

    private static JsonNode parse(String body) {
        try {
            JsonNode n = JSON.readTree(body == null || body.isBlank() ? "{}" : body);
            if (!n.isObject()) {
                throw new IllegalArgumentException("expected a JSON object");
            }
            return n;
        } catch (JacksonException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage());
        }
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || !v.isString()) {
            throw new IllegalArgumentException(field + ": required string");
        }
        return v.asString();
    }

    private static int intIn(JsonNode n, String field, int min, int max) {
        JsonNode v = n.get(field);
        if (v == null || !v.isIntegralNumber() || v.intValue() < min || v.intValue() > max) {
            throw new IllegalArgumentException(field + ": " + (v == null ? "required" : v.toString() + " is not")
                    + " a whole number in " + min + "-" + max);
        }
        return v.intValue();
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static Response json(int status, Object value) {
        return Response.json(status, JSON.writeValueAsString(value));
    }

    private static Response error(int status, String message) {
        return json(status, Map.of("error", message));
    }

    private static Response notFound(String what) {
        return error(404, "no such admin resource: " + what);
    }

    private static Response notAllowed(String method, String what) {
        return error(405, method + " is not allowed on " + what);
    }

    /** Names of pool configs, for messages. */
    static List<String> names(List<PoolConfig> pools) {
        return pools.stream().map(PoolConfig::name).toList();
    }
}
