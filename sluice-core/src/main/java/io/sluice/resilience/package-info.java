/**
 * What happens to a request when an endpoint fails or the pool is full: the decisions, without the I/O.
 *
 * <ul>
 *   <li>{@link io.sluice.resilience.RetryPolicy}: whether a failed try is tried again, after which backoff, with
 *       which per-try timeout; {@link io.sluice.resilience.RetryBudget}: how many retries may be in flight.</li>
 *   <li>{@link io.sluice.resilience.CircuitBreakers}: connection and request limits per pool and per endpoint
 *       (503 with {@code Retry-After} over them); {@link io.sluice.resilience.PendingQueue}: the bounded, timed
 *       wait for a connection.</li>
 *   <li>{@link io.sluice.resilience.UpstreamFailure}: how a try failed, as the data plane reports it here and to
 *       outlier detection.</li>
 * </ul>
 * Everything is thread-safe for use from every event loop, with atomics on the request path, and driven by
 * injected time, so the replay makes the same decisions in virtual time.
 */
package io.sluice.resilience;
