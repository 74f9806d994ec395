/**
 * Whether an endpoint may take traffic: the decisions, without the I/O.
 *
 * <ul>
 *   <li>{@link io.sluice.health.HealthChecker}: active checks, one per endpoint; turns probe results into a
 *       passing verdict and says when the next probe is due. The proxy runs the probes on an event-loop timer; the
 *       replay runs them in virtual time.</li>
 *   <li>{@link io.sluice.health.OutlierDetector}: passive health checking, one per pool; ejects endpoints that
 *       fail real requests in a row (Envoy's outlier detection). It lives here, not in
 *       {@code io.sluice.resilience}, because it is a health verdict: it decides membership, not what happens to a
 *       request.</li>
 *   <li>{@link io.sluice.health.PoolModeTracker}: counts and logs a pool's moves into backup, panic and empty
 *       modes, which {@link io.sluice.endpoint.EndpointSet} decides.</li>
 * </ul>
 * Verdicts are written to {@link io.sluice.endpoint.Member} and take effect when the pool rebuilds its snapshot;
 * every class takes time as an argument or from an injected {@link io.sluice.time.Clock}.
 */
package io.sluice.health;
