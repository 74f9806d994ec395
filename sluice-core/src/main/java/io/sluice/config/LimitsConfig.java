package io.sluice.config;

import java.time.Duration;

/**
 * Circuit breakers of a pool (Envoy's per-cluster thresholds) and of each of its endpoints.
 *
 * <p>Over a limit, a request is answered at once with 503 and {@code Retry-After: retryAfter} rather than piling
 * onto an overloaded backend. Requests that cannot get a connection wait at most {@code pendingTimeout} among at
 * most {@code maxPending} others.
 *
 * @param maxConnections             upstream connections to the whole pool
 * @param maxPending                 requests waiting for a connection
 * @param maxRequests                requests in flight to the whole pool
 * @param pendingTimeout             longest wait for a connection
 * @param maxConnectionsPerEndpoint  upstream connections to any one endpoint (0: no per-endpoint limit)
 * @param maxRequestsPerEndpoint     requests in flight to any one endpoint (0: no per-endpoint limit)
 * @param retryAfter                 the {@code Retry-After} sent with a 503 from a breaker (whole seconds)
 */
public record LimitsConfig(int maxConnections, int maxPending, int maxRequests, Duration pendingTimeout,
                           int maxConnectionsPerEndpoint, int maxRequestsPerEndpoint, Duration retryAfter) {

    /** The defaults (Envoy's: 1024 each), no per-endpoint limits, {@code Retry-After: 1}. */
    public static final LimitsConfig DEFAULT = new LimitsConfig(1024, 1024, 1024, Duration.ofSeconds(5), 0, 0,
            Duration.ofSeconds(1));

    /** The limits without per-endpoint request limit and with {@code Retry-After: 1}. */
    public LimitsConfig(int maxConnections, int maxPending, int maxRequests, Duration pendingTimeout,
                        int maxConnectionsPerEndpoint) {
        this(maxConnections, maxPending, maxRequests, pendingTimeout, maxConnectionsPerEndpoint, 0,
                Duration.ofSeconds(1));
    }

    static LimitsConfig read(ConfigNode n) {
        return new LimitsConfig(
                n.integer("max_connections", DEFAULT.maxConnections(), 1, 10_000_000),
                n.integer("max_pending", DEFAULT.maxPending(), 0, 10_000_000),
                n.integer("max_requests", DEFAULT.maxRequests(), 1, 10_000_000),
                n.duration("pending_timeout", DEFAULT.pendingTimeout(), Duration.ofMillis(1), Duration.ofHours(1)),
                n.integer("max_connections_per_endpoint", 0, 0, 10_000_000),
                n.integer("max_requests_per_endpoint", 0, 0, 10_000_000),
                n.duration("retry_after", DEFAULT.retryAfter(), Duration.ofSeconds(1), Duration.ofHours(1)));
    }
}
