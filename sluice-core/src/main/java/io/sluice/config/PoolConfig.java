package io.sluice.config;

import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A pool of endpoints and how traffic is spread over them and protected from their failures.
 *
 * @param name              unique name
 * @param policy            the balancing policy (see {@link #POLICIES})
 * @param hashOn            what hash policies hash
 * @param hashFallback      the policy used when a request has no hash key
 * @param hashBalanceFactor {@code consistent-hash-bounded}: load bound as a multiple of the mean
 * @param ringSize          {@code ring-hash}: points on the ring
 * @param maglevTableSize   {@code maglev}: lookup table size (a prime)
 * @param sticky            session affinity
 * @param endpoints         the endpoints
 * @param protocol          protocol to the endpoints
 * @param tls               TLS to the endpoints (re-encryption)
 * @param healthCheck       active health checking
 * @param outlierDetection  passive outlier ejection
 * @param slowStart         ramp-up time of a new or recovered endpoint's weight (0: none)
 * @param panicThreshold    share of usable endpoints under which the pool routes to all (0: never)
 * @param retries           retry policy
 * @param timeouts          upstream timeouts
 * @param limits            circuit breakers
 * @param inference         the inference scheduler (with {@code policy: inference})
 * @param optional          true if an empty or all-down pool does not make Sluice not-ready
 * @param proxyProtocol     PROXY protocol header sent to endpoints (tcp listeners)
 */
public record PoolConfig(String name, String policy, HashOn hashOn, String hashFallback, double hashBalanceFactor,
                         int ringSize, int maglevTableSize, Optional<StickyConfig> sticky, List<Endpoint> endpoints,
                         UpstreamProtocol protocol, Optional<UpstreamTlsConfig> tls,
                         Optional<HealthCheckConfig> healthCheck, Optional<OutlierConfig> outlierDetection,
                         Duration slowStart, double panicThreshold, RetryConfig retries, TimeoutsConfig timeouts,
                         LimitsConfig limits, Optional<InferenceConfig> inference, boolean optional,
                         ProxyProtocolVersion proxyProtocol) {

    /** Every policy name (DESIGN.md §6). */
    public static final List<String> POLICIES = List.of("round-robin", "weighted-round-robin", "random",
            "least-connections", "weighted-least-connections", "power-of-two", "least-response-time", "ip-hash",
            "ring-hash", "maglev", "consistent-hash-bounded", "inference", "llm-d", "sglang-cache-aware");

    /** Policies that hash a request key. */
    public static final Set<String> HASH_POLICIES = Set.of("ip-hash", "ring-hash", "maglev",
            "consistent-hash-bounded");

    /** Protocols to endpoints. */
    public enum UpstreamProtocol { HTTP1, H2C, H2 }

    /** PROXY protocol header sent upstream. */
    public enum ProxyProtocolVersion { OFF, V1, V2 }

    /** Copies the list. */
    public PoolConfig {
        endpoints = List.copyOf(endpoints);
    }

    static PoolConfig read(ConfigNode n, Path baseDir) {
        String name = n.requiredName("name");
        String policy = n.string("policy", "round-robin");
        if (!POLICIES.contains(policy)) {
            n.error("policy", "'" + policy + "' is not a policy (" + String.join(", ", POLICIES) + ")");
        }
        HashOn hashOn = HashOn.CLIENT_IP;
        Optional<String> hashText = n.optString("hash_on");
        if (hashText.isPresent()) {
            try {
                hashOn = HashOn.parse(hashText.get());
            } catch (IllegalArgumentException e) {
                n.error("hash_on", e.getMessage());
            }
        }
        if (policy.equals("ip-hash") && hashOn != HashOn.CLIENT_IP) {
            n.error("hash_on", "ip-hash always hashes the client IP; use ring-hash or maglev to hash " + hashOn);
        }
        String fallback = n.string("hash_fallback", "round-robin");
        if (!POLICIES.contains(fallback) || HASH_POLICIES.contains(fallback) || fallback.equals("inference")) {
            n.error("hash_fallback", "'" + fallback + "' is not a non-hash policy to fall back to");
        }
        double factor = n.number("hash_balance_factor", 1.25, 1.0, 100.0);
        int ringSize = n.integer("ring_size", 1024, 16, 8_388_608);
        int tableSize = n.integer("maglev_table_size", 65537, 7, 5_000_011);
        if (!isPrime(tableSize)) {
            n.error("maglev_table_size", tableSize + " is not prime (Maglev needs a prime table size, e.g. 65537)");
        }
        Optional<StickyConfig> sticky = n.object("sticky", StickyConfig::read);
        List<Endpoint> endpoints = n.list("endpoints", PoolConfig::readEndpoint);
        Set<Address> seen = new HashSet<>();
        for (int i = 0; i < endpoints.size(); i++) {
            if (!seen.add(endpoints.get(i).address())) {
                n.error("endpoints", "address " + endpoints.get(i).address() + " is listed twice");
            }
        }
        UpstreamProtocol protocol = n.choice("protocol", UpstreamProtocol.HTTP1, Map.of("http1",
                UpstreamProtocol.HTTP1, "h2c", UpstreamProtocol.H2C, "h2", UpstreamProtocol.H2));
        Optional<UpstreamTlsConfig> tls = n.object("tls", t -> UpstreamTlsConfig.read(t, baseDir));
        if (protocol == UpstreamProtocol.H2 && tls.isEmpty()) {
            n.error("protocol", "h2 to endpoints needs tls (use h2c for cleartext HTTP/2)");
        }
        Optional<HealthCheckConfig> health = n.object("health_check", HealthCheckConfig::read);
        Optional<OutlierConfig> outlier = n.object("outlier_detection", OutlierConfig::read);
        Duration slowStart = n.duration("slow_start", Duration.ZERO, Duration.ZERO, Duration.ofHours(1));
        double panic = n.number("panic_threshold", 0, 0, 100) / 100.0;
        RetryConfig retries = n.object("retries", RetryConfig::read).orElse(RetryConfig.DEFAULT);
        TimeoutsConfig timeouts = n.object("timeouts", TimeoutsConfig::read).orElse(TimeoutsConfig.DEFAULT);
        LimitsConfig limits = n.object("limits", LimitsConfig::read).orElse(LimitsConfig.DEFAULT);
        Optional<InferenceConfig> inference = n.object("inference", InferenceConfig::read);
        boolean inferencePolicy = policy.equals("inference") || policy.equals("llm-d")
                || policy.equals("sglang-cache-aware");
        if (inference.isPresent() && !inferencePolicy) {
            n.error("inference", "inference settings need policy: inference (or llm-d, sglang-cache-aware)");
        }
        boolean optional = n.bool("optional", false);
        ProxyProtocolVersion proxyProtocol = n.choice("proxy_protocol", ProxyProtocolVersion.OFF,
                Map.of("off", ProxyProtocolVersion.OFF, "v1", ProxyProtocolVersion.V1, "v2", ProxyProtocolVersion.V2));
        return new PoolConfig(name, policy, hashOn, fallback, factor, ringSize, tableSize, sticky, endpoints,
                protocol, tls, health, outlier, slowStart, panic, retries, timeouts, limits, inference, optional,
                proxyProtocol);
    }

    private static Endpoint readEndpoint(ConfigNode e) {
        Optional<Address> address = e.address("address", true, 1);
        int weight = e.integer("weight", 1, 1, 10_000);
        boolean backup = e.bool("backup", false);
        Map<String, String> labels = new LinkedHashMap<>(e.stringMap("labels"));
        List<String> models = e.stringList("models");
        if (!models.isEmpty()) {
            labels.put("models", String.join(",", models));
        }
        List<String> adapters = e.stringList("adapters");
        if (!adapters.isEmpty()) {
            labels.put("adapters", String.join(",", adapters));
        }
        return address.map(a -> new Endpoint(a, weight, backup, labels)).orElse(null);
    }

    private static boolean isPrime(int n) {
        if (n < 2) {
            return false;
        }
        for (int d = 2; (long) d * d <= n; d++) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }
}
