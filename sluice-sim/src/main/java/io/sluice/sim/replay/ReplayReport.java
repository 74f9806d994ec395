package io.sluice.sim.replay;

import java.time.Duration;
import java.util.List;

/**
 * The results of a replay, one {@link PolicyResult} per policy, in the order asked.
 *
 * @param trace     the workload's name
 * @param fleet     the fleet spec
 * @param requests  requests in the workload
 * @param sloTtft   the time-to-first-token objective
 * @param seed      the seed
 * @param policies  per-policy results
 * @param wallNanos wall-clock time of the whole replay
 * @param poolSettings the settings of the replayed pools
 */
public record ReplayReport(String trace, String fleet, long requests, Duration sloTtft, long seed,
                           List<PolicyResult> policies, long wallNanos, PoolSettings poolSettings) {

    /** Copies the list. */
    public ReplayReport {
        policies = List.copyOf(policies);
        java.util.Objects.requireNonNull(poolSettings, "poolSettings");
    }

    /** A report of pools with their default settings. */
    public ReplayReport(String trace, String fleet, long requests, Duration sloTtft, long seed,
                        List<PolicyResult> policies, long wallNanos) {
        this(trace, fleet, requests, sloTtft, seed, policies, wallNanos, PoolSettings.NONE);
    }
}
