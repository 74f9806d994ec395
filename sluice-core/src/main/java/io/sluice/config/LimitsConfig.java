package io.sluice.config;

import java.time.Duration;

/**
 * Circuit breakers of a pool (Envoy's per-cluster thresholds).
 *
 * <p>Over a limit, a request is answered at once with 503 and {@code Retry-After} rather than piling onto an
 * overloaded backend. Requests that cannot get a connection wait at most {@code pendingTimeout} among at most
 * {@code maxPending} others.
 *
 * @param maxConnections             upstream connections to the whole pool
 * @param maxPending                 requests waiting for a connection
 * @param maxRequests                requests in flight to the whole pool
 * @param pendingTimeout             longest wait for a connection
 * @param maxConnectionsPerEndpoint  upstream connections to any one endpoint (0: no per-endpoint limit)
 */
public record LimitsConfig(int maxConnections, int maxPending, int maxRequests, Duration pendingTimeout,
                           int maxConnectionsPerEndpoint) {

    /** The defaults (Envoy's: 1024 each). */
    public static final LimitsConfig DEFAULT = new LimitsConfig(1024, 1024, 1024, Duration.ofSeconds(5), 0);

    static LimitsConfig read(ConfigNode n) {
        return new LimitsConfig(
                n.integer("max_connections", DEFAULT.maxConnections(), 1, 10_000_000),
                n.integer("max_pending", DEFAULT.maxPending(), 0, 10_000_000),
                n.integer("max_requests", DEFAULT.maxRequests(), 1, 10_000_000),
                n.duration("pending_timeout", DEFAULT.pendingTimeout(), Duration.ofMillis(1), Duration.ofHours(1)),
                n.integer("max_connections_per_endpoint", 0, 0, 10_000_000));
    }
}
