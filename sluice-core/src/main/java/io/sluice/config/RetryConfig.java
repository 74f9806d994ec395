package io.sluice.config;

import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * When a failed request is tried again on another endpoint.
 *
 * <p>Only requests that are safe to repeat are retried: idempotent methods, or any request that never reached the
 * backend (connect failure). A retry budget keeps retries from multiplying load during an outage: retries in
 * flight may be at most {@code budgetPercent} of the pool's active requests, or {@code minConcurrent}, whichever is
 * larger (Envoy's retry budget).
 *
 * @param attempts       tries in all, the first included (1: no retry)
 * @param on             conditions: {@code connect-failure}, {@code reset-before-response}, {@code timeout}
 *                       (the per-try timeout; {@code 504} implies it, as in Envoy), or a status code
 *                       ({@code 502}, {@code 503}, {@code 504}, {@code 429})
 * @param budgetPercent  retries in flight as a share of active requests
 * @param minConcurrent  retries always allowed in flight, whatever the budget
 * @param perTryTimeout  time one try may take until the response head (0: the pool's response_header timeout)
 * @param backoffBase    first backoff; doubles per retry, with full jitter
 * @param backoffMax     longest backoff
 * @param maxBodyBuffer  request bodies up to this size are kept so they can be replayed; larger ones are not
 *                       retried once sent
 */
public record RetryConfig(int attempts, Set<String> on, int budgetPercent, int minConcurrent, Duration perTryTimeout,
                          Duration backoffBase, Duration backoffMax, long maxBodyBuffer) {

    /** Conditions that are not status codes. */
    public static final Set<String> CONDITIONS = Set.of("connect-failure", "reset-before-response", "timeout");

    /** The defaults: two tries on connect failures, resets and gateway errors, 20 % budget. */
    public static final RetryConfig DEFAULT = new RetryConfig(2,
            Set.of("connect-failure", "reset-before-response", "502", "503", "504"), 20, 3, Duration.ZERO,
            Duration.ofMillis(25), Duration.ofMillis(250), 64 * 1024);

    /** Copies the set. */
    public RetryConfig {
        on = Set.copyOf(on);
    }

    /** True if a retry may follow the given condition or status. */
    public boolean retriesOn(String condition) {
        return on.contains(condition);
    }

    static RetryConfig read(ConfigNode n) {
        int attempts = n.integer("attempts", DEFAULT.attempts(), 1, 10);
        Set<String> on = new LinkedHashSet<>();
        if (n.has("on")) {
            for (String c : n.stringList("on")) {
                if (CONDITIONS.contains(c) || c.matches("[45][0-9][0-9]")) {
                    on.add(c);
                } else {
                    n.error("on", "'" + c + "' is not a retry condition (connect-failure, reset-before-response, "
                            + "timeout, or a 4xx/5xx status)");
                }
            }
        } else {
            on.addAll(DEFAULT.on());
        }
        int budget = n.integer("budget_percent", DEFAULT.budgetPercent(), 0, 100);
        int minConcurrent = n.integer("min_concurrent", DEFAULT.minConcurrent(), 0, 100_000);
        Duration perTry = n.duration("per_try_timeout", Duration.ZERO, Duration.ZERO, Duration.ofHours(1));
        Duration base = n.duration("backoff_base", DEFAULT.backoffBase(), Duration.ZERO, Duration.ofMinutes(1));
        Duration max = n.duration("backoff_max", DEFAULT.backoffMax(), Duration.ZERO, Duration.ofMinutes(10));
        if (max.compareTo(base) < 0) {
            n.error("backoff_max", Durations.format(max) + " is shorter than backoff_base " + Durations.format(base));
        }
        long buffer = n.bytes("max_body_buffer", DEFAULT.maxBodyBuffer(), 0, 1L << 30);
        return new RetryConfig(attempts, on, budget, minConcurrent, perTry, base, max, buffer);
    }
}
