package io.sluice.resilience;

import io.sluice.config.RetryConfig;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Caps the retries in flight to a pool so that retries cannot multiply the load of an outage.
 *
 * <p>Envoy's retry budget ({@code RetryBudget} of the cluster circuit breakers): a retry may start only while
 * <pre>  retries in flight &lt; max(min_concurrent, budget_percent / 100 × active requests)</pre>
 * where active requests are the pool's requests in flight (originals and retries). When a backend fails, every
 * request wants a retry; the budget lets through a bounded share, so a pool at 1,000 requests in flight with a 20 %
 * budget adds at most 200 retries, not 1,000. {@code min_concurrent} keeps a quiet pool able to retry at all.
 *
 * <p>Every granted permit must be {@linkplain #release() released} exactly once, when the retry ends however it
 * ends. A permit belongs to the budget that granted it: after a reload the proxy releases old permits to the old
 * budget and takes new ones from the new. The in-flight count is one atomic updated with compare-and-set, so
 * concurrent event loops can never push it past the limit they saw; counters for metrics are {@link LongAdder}s.
 */
public final class RetryBudget {

    private final double fraction;
    private final int minConcurrent;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final LongAdder granted = new LongAdder();
    private final LongAdder rejected = new LongAdder();

    private RetryBudget(int budgetPercent, int minConcurrent) {
        if (budgetPercent < 0 || budgetPercent > 100) {
            throw new IllegalArgumentException("budget_percent must be 0-100: " + budgetPercent);
        }
        if (minConcurrent < 0) {
            throw new IllegalArgumentException("min_concurrent must not be negative: " + minConcurrent);
        }
        this.fraction = budgetPercent / 100.0;
        this.minConcurrent = minConcurrent;
    }

    /** The budget of a pool, from its {@code retries.budget_percent} and {@code retries.min_concurrent}. */
    public static RetryBudget of(RetryConfig config) {
        Objects.requireNonNull(config, "config");
        return new RetryBudget(config.budgetPercent(), config.minConcurrent());
    }

    /** A budget with the given share of active requests and floor. */
    public static RetryBudget of(int budgetPercent, int minConcurrent) {
        return new RetryBudget(budgetPercent, minConcurrent);
    }

    /** The most retries allowed in flight when the pool has this many active requests. */
    public int limit(int activeRequests) {
        return Math.max(minConcurrent, (int) (fraction * Math.max(0, activeRequests)));
    }

    /**
     * Takes a permit for one retry if the budget allows it; a refusal is counted as budget exhaustion.
     *
     * @param activeRequests the pool's requests in flight now (the pool breaker's {@code requests()})
     * @return true if the retry may start; it must then be {@linkplain #release() released}
     */
    public boolean tryAcquire(int activeRequests) {
        int limit = limit(activeRequests);
        while (true) {
            int current = inFlight.get();
            if (current >= limit) {
                rejected.increment();
                return false;
            }
            if (inFlight.compareAndSet(current, current + 1)) {
                granted.increment();
                return true;
            }
        }
    }

    /**
     * Returns a permit when its retry ends.
     *
     * @throws IllegalStateException if no permit is out: a bug in the caller's accounting
     */
    public void release() {
        while (true) {
            int current = inFlight.get();
            if (current <= 0) {
                throw new IllegalStateException("retry budget released more often than acquired");
            }
            if (inFlight.compareAndSet(current, current - 1)) {
                return;
            }
        }
    }

    /** Retries in flight now. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Retries granted since the budget was created ({@code sluice_retries_total}). */
    public long granted() {
        return granted.sum();
    }

    /** Retries refused because the budget was exhausted. */
    public long rejected() {
        return rejected.sum();
    }
}
