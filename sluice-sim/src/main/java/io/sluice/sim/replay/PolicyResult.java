package io.sluice.sim.replay;

import java.util.List;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one policy did over the replay: counts, latency distributions (HdrHistogram, microseconds, 3 significant
 * digits) and per-endpoint load.
 *
 * @param policy          the policy name
 * @param requests        requests that arrived
 * @param completed       requests that produced all their tokens
 * @param shed            requests the router could place on no endpoint
 * @param queued          requests that waited in the central queue ({@code FlowController}) before dispatch or
 *                        refusal (inference policies only; their time-outs are failures {@code queue_timeout_429})
 * @param failures        failed requests by reason ({@code error}, {@code reset}, {@code too_long}, ...)
 * @param outputTokens    tokens produced by completed requests
 * @param spanNanos       virtual time from the first arrival to the last completion
 * @param ttft            time to first token of every request that got one
 * @param e2e             end-to-end latency of completed requests
 * @param queue           time from arrival to joining a running batch
 * @param sloMet          requests whose first token came within the objective
 * @param prefixHitTokens prompt tokens served from prefix caches, over the fleet
 * @param prefixQueries   prompt tokens looked up, over the fleet
 * @param preemptions     KV-cache preemptions over the fleet
 * @param endpointLoad    each endpoint's time-averaged in-flight requests
 * @param endpointRequests requests sent to each endpoint
 * @param series          per-endpoint load over time
 * @param wallNanos       wall-clock time the replay of this policy took
 * @param cpuNanos        CPU time of the thread that replayed it (0 if unknown)
 * @param spikeTtft       time to first token of requests that arrived during the spike window (empty if none)
 */
public record PolicyResult(String policy, long requests, long completed, long shed, long queued,
                           Map<String, Long> failures,
                           long outputTokens, long spanNanos, Histogram ttft, Histogram e2e, Histogram queue,
                           long sloMet, long prefixHitTokens, long prefixQueries, long preemptions,
                           List<Double> endpointLoad, List<Long> endpointRequests, LoadSeries series,
                           long wallNanos, long cpuNanos, Histogram spikeTtft) {

    /** Failed requests, all reasons together. */
    public long failed() {
        return failures.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Completed requests per second of virtual time. */
    public double throughputRps() {
        return spanNanos <= 0 ? 0 : completed / (spanNanos / 1e9);
    }

    /** Output tokens per second of virtual time. */
    public double outputTokensPerSecond() {
        return spanNanos <= 0 ? 0 : outputTokens / (spanNanos / 1e9);
    }

    /** A percentile of a histogram in milliseconds (0 if empty). */
    public static double millis(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
    }

    /** Fraction of prompt tokens served from prefix caches. */
    public double prefixHitRatio() {
        return prefixQueries == 0 ? 0 : (double) prefixHitTokens / prefixQueries;
    }

    /** The busiest endpoint's average load over the fleet's mean (1: perfectly even). */
    public double loadImbalance() {
        double max = 0;
        double sum = 0;
        for (double v : endpointLoad) {
            max = Math.max(max, v);
            sum += v;
        }
        return sum == 0 ? 1 : max / (sum / endpointLoad.size());
    }

    /** Fraction of arrived requests whose first token came within the objective (shed and failed ones miss). */
    public double sloAttainment() {
        return requests == 0 ? 0 : (double) sloMet / requests;
    }

    /** Simulated requests per second of the replaying thread's CPU time (0 if unknown). */
    public double simulatedPerCpuSecond() {
        return cpuNanos <= 0 ? 0 : requests / (cpuNanos / 1e9);
    }

    /** Simulated requests per second of wall time. */
    public double simulatedPerWallSecond() {
        return wallNanos <= 0 ? 0 : requests / (wallNanos / 1e9);
    }
}
