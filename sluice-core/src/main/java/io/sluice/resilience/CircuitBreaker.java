package io.sluice.resilience;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

/**
 * Limits on the connections and requests in flight to one target (a pool, or one endpoint of it).
 *
 * <p>Envoy's circuit breakers ("Circuit breaking" in Envoy's architecture overview; HAProxy's {@code maxconn} per
 * server and backend play the same role): each resource is a counter with a ceiling. {@link #tryAcquire} takes one
 * unit if the counter is below its ceiling, or refuses at once and counts an overflow; the caller answers 503 with
 * {@code Retry-After} instead of queueing more work on an overloaded backend. There is no open/half-open state:
 * the breaker "closes" again as soon as a unit is released. Waiting for a connection is the job of
 * {@link PendingQueue}, which has its own limit ({@code max_pending}).
 *
 * <p>Counters use compare-and-set, so concurrent event loops never exceed a limit, not even for an instant. Every
 * granted unit must be released exactly once; a release with nothing out throws, so an accounting bug shows up in
 * tests rather than as a breaker that slowly leaks capacity. Limits can change on a reload while units are out:
 * {@link #setLimits} keeps the counts, and a lowered limit simply refuses until enough units are back.
 */
public final class CircuitBreaker {

    /** What a breaker limits. */
    public enum Resource {
        /** Upstream connections ({@code max_connections}). */
        CONNECTIONS,
        /** Requests in flight ({@code max_requests}). */
        REQUESTS
    }

    /** A limit that never refuses. */
    public static final int UNLIMITED = Integer.MAX_VALUE;

    private static final Resource[] RESOURCES = Resource.values();

    private final String name;
    private final AtomicInteger[] inUse = new AtomicInteger[RESOURCES.length];
    private final LongAdder[] overflows = new LongAdder[RESOURCES.length];
    /** Replaced whole on a reload, so a reader sees both old limits or both new ones. */
    private volatile int[] limits;

    private CircuitBreaker(String name, int maxConnections, int maxRequests) {
        this.name = name;
        for (int i = 0; i < RESOURCES.length; i++) {
            inUse[i] = new AtomicInteger();
            overflows[i] = new LongAdder();
        }
        setLimits(maxConnections, maxRequests);
    }

    /**
     * Creates a breaker.
     *
     * @param name           what it protects, for messages ({@code pool web}, {@code 10.0.0.1:8080})
     * @param maxConnections the connection limit, or {@link #UNLIMITED}
     * @param maxRequests    the request limit, or {@link #UNLIMITED}
     */
    public static CircuitBreaker of(String name, int maxConnections, int maxRequests) {
        return new CircuitBreaker(name, maxConnections, maxRequests);
    }

    /** Replaces the limits (on a reload); units already out stay counted. */
    public void setLimits(int maxConnections, int maxRequests) {
        if (maxConnections < 0 || maxRequests < 0) {
            throw new IllegalArgumentException("limits must not be negative: " + maxConnections + ", "
                    + maxRequests);
        }
        int[] next = new int[RESOURCES.length];
        next[Resource.CONNECTIONS.ordinal()] = maxConnections;
        next[Resource.REQUESTS.ordinal()] = maxRequests;
        limits = next;
    }

    /**
     * Takes one unit of a resource if it is below its limit; otherwise counts an overflow.
     *
     * @return true if granted; the unit must then be {@linkplain #release released} exactly once
     */
    public boolean tryAcquire(Resource resource) {
        int i = resource.ordinal();
        AtomicInteger counter = inUse[i];
        int limit = limits[i];
        while (true) {
            int current = counter.get();
            if (current >= limit) {
                overflows[i].increment();
                return false;
            }
            if (counter.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    /**
     * Returns one unit of a resource.
     *
     * @throws IllegalStateException if none is out
     */
    public void release(Resource resource) {
        AtomicInteger counter = inUse[resource.ordinal()];
        while (true) {
            int current = counter.get();
            if (current <= 0) {
                throw new IllegalStateException(name + ": " + resource + " released more often than acquired");
            }
            if (counter.compareAndSet(current, current - 1)) {
                return;
            }
        }
    }

    /** Units of the resource out now. */
    public int inUse(Resource resource) {
        return inUse[resource.ordinal()].get();
    }

    /** The resource's limit. */
    public int limit(Resource resource) {
        return limits[resource.ordinal()];
    }

    /** Requests refused because the resource was at its limit, since the breaker was created. */
    public long overflows(Resource resource) {
        return overflows[resource.ordinal()].sum();
    }

    /** What the breaker protects. */
    public String name() {
        return name;
    }

    @Override
    public String toString() {
        return "CircuitBreaker[" + name + ", connections " + inUse(Resource.CONNECTIONS) + "/"
                + limit(Resource.CONNECTIONS) + ", requests " + inUse(Resource.REQUESTS) + "/"
                + limit(Resource.REQUESTS) + "]";
    }
}
