package io.sluice.endpoint;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Live load of one endpoint, written by the data plane (or the replay) and read by the policies.
 *
 * <p>Counters are atomics so that every event loop can update them without locks; policies read them without
 * synchronising, accepting a value that may be a few nanoseconds old.
 *
 * <p>The latency estimate is the peak-sensitive EWMA of Finagle's {@code PeakEwma} balancer: a sample above the
 * current estimate replaces it at once, a lower one is blended in with weight {@code 1 - exp(-Δt/τ)}, so the
 * estimate reacts immediately to a slowdown and forgets it over about τ.
 */
public final class LoadStats {

    /** Decay constant τ of the latency EWMA. */
    public static final long DEFAULT_DECAY_NANOS = 10_000_000_000L;

    /** A failure counts as this many times the latency estimate, so repeated failures compound. */
    public static final double FAILURE_LATENCY_FACTOR = 4;

    /** The estimate a failure multiplies when the endpoint has none yet (or a smaller one). */
    public static final long FAILURE_LATENCY_FLOOR_NANOS = 10_000_000L;

    /**
     * Read by every load-aware pick, so it is a plain volatile field updated through a VarHandle: one pointer hop
     * less than an {@code AtomicInteger} on a path that reads it for every candidate.
     */
    private static final VarHandle ACTIVE_REQUESTS;

    static {
        try {
            ACTIVE_REQUESTS = MethodHandles.lookup().findVarHandle(LoadStats.class, "activeRequests", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int activeRequests;
    private final AtomicInteger activeConnections = new AtomicInteger();
    private final LongAdder requests = new LongAdder();
    private final LongAdder failures = new LongAdder();
    /** Packed EWMA state is updated under a lock-free CAS on {@code ewmaStamp}; the value may lag one update. */
    private final AtomicLong ewmaStamp = new AtomicLong(Long.MIN_VALUE);
    private volatile double latencyEwmaNanos;
    private volatile long penaltyUntilNanos = Long.MIN_VALUE;

    /** Requests sent to the endpoint that have not yet ended. */
    public int activeRequests() {
        return activeRequests;
    }

    /** Open upstream connections to the endpoint. */
    public int activeConnections() {
        return activeConnections.get();
    }

    /** Requests started since the endpoint joined the pool. */
    public long totalRequests() {
        return requests.sum();
    }

    /** Requests that failed (connect failure, reset, timeout, 5xx) since the endpoint joined the pool. */
    public long totalFailures() {
        return failures.sum();
    }

    /** The peak-EWMA latency estimate in nanoseconds; 0 until the first sample. */
    public double latencyEwmaNanos() {
        return latencyEwmaNanos;
    }

    /**
     * When the latency estimate last took a sample; {@code Long.MIN_VALUE} before the first. Two estimates decay by
     * the same factor per unit of time, so policies compare them through their stamps without reading the clock.
     */
    public long latencyStampNanos() {
        return ewmaStamp.get();
    }

    /** Until when a {@code Retry-After} asked us to keep away; {@code Long.MIN_VALUE} if it never did. */
    public long penaltyUntilNanos() {
        return penaltyUntilNanos;
    }

    /** True while a {@code Retry-After} from the endpoint asks us to keep away. */
    public boolean penalised(long nowNanos) {
        return nowNanos < penaltyUntilNanos;
    }

    /** Called when a request is sent to the endpoint. */
    public void requestStarted() {
        ACTIVE_REQUESTS.getAndAdd(this, 1);
        requests.increment();
    }

    /** Called exactly once per {@link #requestStarted()}, however the request ended. */
    public void requestEnded() {
        ACTIVE_REQUESTS.getAndAdd(this, -1);
    }

    /** Called when an upstream connection opens. */
    public void connectionOpened() {
        activeConnections.incrementAndGet();
    }

    /** Called when an upstream connection closes. */
    public void connectionClosed() {
        activeConnections.decrementAndGet();
    }

    /** Records one failed request. */
    public void failure() {
        failures.increment();
    }

    /** Asks policies that honour it to avoid the endpoint until the given time ({@code Retry-After}). */
    public void penaliseUntil(long untilNanos) {
        if (untilNanos > penaltyUntilNanos) {
            penaltyUntilNanos = untilNanos;
        }
    }

    /**
     * Adds a latency sample to the peak EWMA.
     *
     * @param nowNanos     the clock reading when the sample was taken
     * @param sampleNanos  the observed latency (a failure passes a penalised latency)
     * @param decayNanos   the decay constant τ
     */
    public void recordLatency(long nowNanos, long sampleNanos, long decayNanos) {
        long last = ewmaStamp.getAndSet(nowNanos);
        double current = latencyEwmaNanos;
        if (last == Long.MIN_VALUE || sampleNanos > current) {
            latencyEwmaNanos = sampleNanos;
            return;
        }
        long elapsed = Math.max(0, nowNanos - last);
        double w = Math.exp(-(double) elapsed / decayNanos);
        latencyEwmaNanos = current * w + sampleNanos * (1 - w);
    }

    /**
     * Adds a failed request to the peak EWMA as a penalised latency: {@code max(elapsed, FAILURE_LATENCY_FACTOR ×
     * max(estimate, FAILURE_LATENCY_FLOOR_NANOS))}. A connection refused in a millisecond must not make an endpoint
     * look fast; one failure is forgotten over a few τ, while repeated failures multiply the estimate each time.
     *
     * @param nowNanos    the clock reading when the failure was seen
     * @param elapsedNanos how long the request had been running
     * @param decayNanos  the decay constant τ
     */
    public void recordFailureLatency(long nowNanos, long elapsedNanos, long decayNanos) {
        double base = Math.max(latencyEwmaNanos, FAILURE_LATENCY_FLOOR_NANOS);
        double penalised = Math.max(elapsedNanos, FAILURE_LATENCY_FACTOR * base);
        recordLatency(nowNanos, (long) Math.min(penalised, Long.MAX_VALUE / 2.0), decayNanos);
    }

    /**
     * The latency estimate decayed toward zero for the time since the last sample, so an endpoint that was slow
     * once and got no traffic since is tried again eventually.
     */
    public double decayedLatencyNanos(long nowNanos, long decayNanos) {
        long last = ewmaStamp.get();
        if (last == Long.MIN_VALUE) {
            return 0;
        }
        long elapsed = Math.max(0, nowNanos - last);
        return latencyEwmaNanos * Math.exp(-(double) elapsed / decayNanos);
    }
}
