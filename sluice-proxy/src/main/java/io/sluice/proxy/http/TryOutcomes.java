package io.sluice.proxy.http;

import io.sluice.balance.RetryAfter;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.resilience.UpstreamFailure;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the outcome of one try tells the pool's decision makers: the endpoint's load statistics (which
 * {@code least-response-time} reads) and outlier detection. Outcomes are reported to the runtime of the pool now in
 * force, so a request that started before a reload still counts toward the live detector.
 */
final class TryOutcomes {

    private TryOutcomes() {
    }

    /**
     * A response head arrived (forwarded or not): counts its status for outlier detection, and honours a
     * {@code Retry-After} on 429 and 503, which {@code least-response-time} respects by leaving the endpoint alone.
     */
    static void answered(PoolRuntime pool, Member member, Http1Head head, long nowNanos, long nowMillis) {
        int status = head.status();
        if (status == 429 || status == 503) {
            Optional<String> retryAfter = head.get("retry-after");
            OptionalLong delay = retryAfter.isPresent() ? RetryAfter.millis(retryAfter.get(), nowMillis)
                    : OptionalLong.empty();
            if (delay.isPresent()) {
                member.load().penaliseUntil(nowNanos + delay.getAsLong() * 1_000_000L);
            }
        }
        pool.current().outlier().ifPresent(d -> d.onResponse(member, status, nowNanos));
    }

    /**
     * A try failed: counts a failure in the endpoint's load statistics, with its time as a penalised latency so that
     * an endpoint failing fast does not look fast; and, for a failure without a usable response, reports it to
     * outlier detection.
     *
     * @param failure how it failed, or empty for a response that was answered but not usable (a retried status,
     *                already reported by {@link #answered})
     */
    static void failed(PoolRuntime pool, Member member, Optional<UpstreamFailure> failure, long tryStartNanos,
                       long nowNanos) {
        member.load().failure();
        member.load().recordFailureLatency(nowNanos, nowNanos - tryStartNanos, LoadStats.DEFAULT_DECAY_NANOS);
        failure.ifPresent(f -> pool.current().outlier().ifPresent(d -> d.onFailure(member, f, nowNanos)));
    }
}
