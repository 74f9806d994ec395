package io.sluice.config;

import io.sluice.endpoint.Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A listener: an address, a protocol, and what it does with what arrives.
 *
 * <p>An {@code http} listener routes each request by its {@code routes}. A {@code tcp} listener forwards each
 * connection to {@code pool}, or, with {@code sni_routes}, to the pool chosen by the TLS server name it reads from
 * the ClientHello without terminating TLS.
 *
 * @param name          unique name, used in metrics and logs
 * @param address       where to listen (port 0: any free port, reported by the admin API)
 * @param protocol      http or tcp
 * @param tls           TLS termination, if any
 * @param routes        HTTP routes, tried in order
 * @param pool          the pool of a tcp listener
 * @param sniRoutes     tcp listener: pools by TLS server name (passthrough)
 * @param proxyProtocol accept PROXY protocol v1/v2 headers from these trusted networks
 * @param limits        request size and connection limits
 * @param timeouts      client-side timeouts
 * @param http2         HTTP/2 settings and protections (http listeners)
 */
public record ListenerConfig(String name, Address address, Protocol protocol, Optional<ListenerTlsConfig> tls,
                             List<RouteConfig> routes, Optional<String> pool, List<SniRoute> sniRoutes,
                             Optional<ProxyProtocolAccept> proxyProtocol, Limits limits, Timeouts timeouts,
                             Http2Config http2) {

    /** Listener protocols. */
    public enum Protocol { HTTP, TCP }

    /**
     * A TLS-passthrough route of a tcp listener.
     *
     * @param serverNames names ({@code *.example.com} allowed) this route takes
     * @param pool        the pool
     */
    public record SniRoute(List<String> serverNames, String pool) {
        /** Copies the list. */
        public SniRoute {
            serverNames = List.copyOf(serverNames);
        }
    }

    /**
     * Trusted senders of PROXY protocol headers.
     *
     * @param acceptFrom CIDR blocks ({@code 10.0.0.0/8}, {@code 127.0.0.1/32})
     */
    public record ProxyProtocolAccept(List<String> acceptFrom) {
        /** Copies the list. */
        public ProxyProtocolAccept {
            acceptFrom = List.copyOf(acceptFrom);
        }
    }

    /**
     * Limits on what a client may send.
     *
     * @param maxConnections       open client connections (0: unlimited); over it, new connections wait in the
     *                             kernel backlog
     * @param maxRequestLineBytes  longest request line; longer gets 414
     * @param maxHeaderBytes       total size of the request headers; larger gets 431
     * @param maxHeaders           number of request header fields; more gets 431
     */
    public record Limits(int maxConnections, int maxRequestLineBytes, int maxHeaderBytes, int maxHeaders) {
        /** The defaults. */
        public static final Limits DEFAULT = new Limits(0, 8192, 65536, 100);
    }

    /**
     * Client-side timeouts.
     *
     * @param requestHeader time for a client to send a complete request head (slowloris guard); 408 after it
     * @param idle          time a keep-alive client connection may sit idle between requests
     */
    public record Timeouts(Duration requestHeader, Duration idle) {
        /** The defaults. */
        public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(10), Duration.ofSeconds(60));
    }

    /** Copies the lists. */
    public ListenerConfig {
        routes = List.copyOf(routes);
        sniRoutes = List.copyOf(sniRoutes);
    }

    static ListenerConfig read(ConfigNode n, Path baseDir) {
        String name = n.requiredName("name");
        Address address = n.address("address", true, 0).orElse(new Address("0.0.0.0", 0));
        Protocol protocol = n.choice("protocol", Protocol.HTTP, Map.of("http", Protocol.HTTP, "tcp", Protocol.TCP));
        Optional<ListenerTlsConfig> tls = n.object("tls", t -> ListenerTlsConfig.read(t, baseDir));
        List<RouteConfig> routes = n.list("routes", RouteConfig::read);
        Optional<String> pool = n.optString("pool");
        List<SniRoute> sniRoutes = n.list("sni_routes", s -> new SniRoute(s.stringList("server_names"),
                s.requiredString("pool")));
        Optional<ProxyProtocolAccept> proxyProtocol = n.object("proxy_protocol", p -> {
            List<String> cidrs = p.stringList("accept_from");
            for (String c : cidrs) {
                if (!Cidr.valid(c)) {
                    p.error("accept_from", "'" + c + "' is not a CIDR block (e.g. 10.0.0.0/8, ::1/128)");
                }
            }
            if (cidrs.isEmpty()) {
                p.error("accept_from", "is required: the networks trusted to send PROXY protocol headers");
            }
            return new ProxyProtocolAccept(cidrs);
        });
        Limits limits = n.objectOrDefaults("limits", l -> new Limits(
                l.integer("max_connections", 0, 0, 10_000_000),
                (int) l.bytes("max_request_line_bytes", 8192, 256, 1 << 20),
                (int) l.bytes("max_header_bytes", 65536, 1024, 1 << 24),
                l.integer("max_headers", 100, 1, 10_000)));
        Timeouts timeouts = n.objectOrDefaults("timeouts", t -> new Timeouts(
                t.duration("request_header", Timeouts.DEFAULT.requestHeader(), Duration.ofMillis(1),
                        Duration.ofHours(1)),
                t.duration("idle", Timeouts.DEFAULT.idle(), Duration.ofMillis(1), Duration.ofDays(1))));
        Http2Config http2 = n.objectOrDefaults("http2", Http2Config::read);
        if (protocol == Protocol.HTTP) {
            if (routes.isEmpty() && !n.has("routes")) {
                n.error("routes", "an http listener needs at least one route");
            }
            if (pool.isPresent()) {
                n.error("pool", "an http listener routes with routes, not pool");
            }
            if (!sniRoutes.isEmpty()) {
                n.error("sni_routes", "sni_routes are for tcp listeners (TLS passthrough)");
            }
        } else {
            if (!routes.isEmpty()) {
                n.error("routes", "a tcp listener forwards to pool or sni_routes, not HTTP routes");
            }
            if (pool.isEmpty() && sniRoutes.isEmpty()) {
                n.error("pool", "a tcp listener needs a pool or sni_routes");
            }
            if (!sniRoutes.isEmpty() && tls.isPresent()) {
                n.error("sni_routes", "sni_routes pass TLS through untouched, so the listener cannot also terminate"
                        + " it (drop tls, or use pool)");
            }
            if (n.has("http2")) {
                n.error("http2", "http2 settings are for http listeners");
            }
        }
        return new ListenerConfig(name, address, protocol, tls, routes, pool, sniRoutes, proxyProtocol, limits,
                timeouts, http2);
    }
}
