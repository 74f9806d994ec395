package io.sluice.proxy.http;

import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.resilience.CircuitBreaker;
import io.sluice.resilience.RetryBudget;
import io.sluice.resilience.RetryDecision;
import io.sluice.resilience.RetryPolicy;
import io.sluice.resilience.RetryRequest;
import io.sluice.resilience.UpstreamFailure;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One request's standing with its pool's retry rules: asks the {@link RetryPolicy} whether a failed try may be
 * tried again, takes a permit from the {@link RetryBudget} for each retry, and counts both outcomes.
 *
 * <p>The request holds at most one budget permit at a time (the retry in flight); it gives it back when the next
 * retry starts or the exchange ends. A permit is returned to the budget that granted it, even across a reload.
 */
final class RetryState {

    private final PoolRuntime pool;
    private final ProxyMetrics metrics;
    private final boolean idempotent;
    private RetryBudget permitFrom;
    private RetryDecision lastDecision = RetryDecision.ATTEMPTS_EXHAUSTED;

    RetryState(PoolRuntime pool, ProxyMetrics metrics, String method) {
        this.pool = pool;
        this.metrics = metrics;
        this.idempotent = RetryRequest.idempotent(method);
    }

    /**
     * Decides on a try that failed without a response.
     *
     * @param triesDone      tries made, the failed one included
     * @param sentUpstream   true if a byte of the request reached the upstream connection
     * @param bodyReplayable true if the whole request can be sent again
     * @return true if the request is to be tried again (a budget permit is then held)
     */
    boolean retryAfter(UpstreamFailure failure, int triesDone, boolean sentUpstream, boolean bodyReplayable) {
        return granted(pool.retryPolicy().decide(RetryRequest.of(idempotent, bodyReplayable), triesDone, failure,
                sentUpstream));
    }

    /**
     * Decides on a try answered with a status that the policy may retry; the response has not been forwarded.
     *
     * @return true if the request is to be tried again (a budget permit is then held)
     */
    boolean retryAfter(int status, int triesDone, boolean bodyReplayable) {
        if (!pool.retryPolicy().retriesOnStatus(status)) {
            return false;
        }
        return granted(pool.retryPolicy().decide(RetryRequest.of(idempotent, bodyReplayable), triesDone, status));
    }

    private boolean granted(RetryDecision decision) {
        lastDecision = decision;
        if (!decision.retry()) {
            return false;
        }
        release();
        RetryBudget budget = pool.current().retryBudget();
        if (!budget.tryAcquire(pool.breakers().pool().inUse(CircuitBreaker.Resource.REQUESTS))) {
            metrics.retryBudgetExhausted(pool.name());
            return false;
        }
        permitFrom = budget;
        metrics.retry(pool.name());
        return true;
    }

    /** The wait before the next try: full jitter, growing with the tries made. */
    long backoffNanos(int triesDone) {
        return pool.retryPolicy().backoffNanos(Math.max(1, triesDone), ThreadLocalRandom.current());
    }

    /** Why the last failed try was not retried (or {@code RETRY}), for the access log. */
    RetryDecision lastDecision() {
        return lastDecision;
    }

    /** Returns the budget permit, if one is held. */
    void release() {
        if (permitFrom != null) {
            permitFrom.release();
            permitFrom = null;
        }
    }
}
