package io.sluice.resilience;

import io.sluice.config.LimitsConfig;
import io.sluice.endpoint.Member;
import io.sluice.resilience.CircuitBreaker.Resource;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The circuit breakers of one pool: one for the pool as a whole and one per endpoint, taken together.
 *
 * <p>A request needs a unit of the pool's {@code max_requests} and of its endpoint's
 * {@code max_requests_per_endpoint}; a new upstream connection needs a unit of {@code max_connections} and of
 * {@code max_connections_per_endpoint}. {@link #tryAcquire} takes the pool unit first, then the endpoint unit, and
 * gives the pool unit back if the endpoint refuses, so a refusal never leaks capacity. An endpoint refusal lets
 * the proxy try another endpoint; a pool refusal means 503 with {@code Retry-After: }{@link #retryAfterSeconds()}.
 *
 * <p>The proxy keeps the endpoint breaker it acquired from ({@link #endpoint(Member)}) with the request or the
 * connection and releases to that same object, so forgetting the breakers of members that left the pool
 * ({@link #retain}) can never unbalance a count.
 */
public final class CircuitBreakers {

    /** The outcome of a combined acquire. */
    public enum Admission {
        /** Both the pool and the endpoint had room: release both later. */
        ADMITTED,
        /** The pool is at its limit: answer 503 with {@code Retry-After}. */
        POOL_FULL,
        /** The endpoint is at its limit (the pool had room): another endpoint may take the request. */
        ENDPOINT_FULL;

        /** True for {@link #ADMITTED}. */
        public boolean admitted() {
            return this == ADMITTED;
        }
    }

    private final String poolName;
    private final CircuitBreaker pool;
    private final Map<Member, CircuitBreaker> endpoints = new ConcurrentHashMap<>();
    private volatile LimitsConfig limits;

    private CircuitBreakers(String poolName, LimitsConfig limits) {
        this.poolName = poolName;
        this.limits = limits;
        this.pool = CircuitBreaker.of("pool " + poolName, limits.maxConnections(), limits.maxRequests());
    }

    /** The breakers of a pool, from its {@code limits}. */
    public static CircuitBreakers of(String poolName, LimitsConfig limits) {
        return new CircuitBreakers(Objects.requireNonNull(poolName, "poolName"),
                Objects.requireNonNull(limits, "limits"));
    }

    /** The pool-wide breaker: its request count is the pool's requests in flight (for the retry budget). */
    public CircuitBreaker pool() {
        return pool;
    }

    /** The breaker of one endpoint, created on first use. */
    public CircuitBreaker endpoint(Member member) {
        CircuitBreaker b = endpoints.get(member);
        return b != null ? b : endpoints.computeIfAbsent(member, m -> {
            LimitsConfig l = limits;
            return CircuitBreaker.of(m.address().toString(), perEndpoint(l.maxConnectionsPerEndpoint()),
                    perEndpoint(l.maxRequestsPerEndpoint()));
        });
    }

    private static int perEndpoint(int limit) {
        return limit == 0 ? CircuitBreaker.UNLIMITED : limit;
    }

    /**
     * Takes a unit of the resource from the pool and from the endpoint, or from neither.
     *
     * @param resource what to take
     * @param endpoint the endpoint's breaker, from {@link #endpoint(Member)}; keep it to release to
     */
    public Admission tryAcquire(Resource resource, CircuitBreaker endpoint) {
        if (!pool.tryAcquire(resource)) {
            return Admission.POOL_FULL;
        }
        if (!endpoint.tryAcquire(resource)) {
            pool.release(resource);
            return Admission.ENDPOINT_FULL;
        }
        return Admission.ADMITTED;
    }

    /** Returns a unit taken by an {@link Admission#ADMITTED} {@link #tryAcquire}. */
    public void release(Resource resource, CircuitBreaker endpoint) {
        endpoint.release(resource);
        pool.release(resource);
    }

    /** Applies new limits (on a reload) to the pool and to every endpoint; units out stay counted. */
    public void update(LimitsConfig next) {
        limits = Objects.requireNonNull(next, "next");
        pool.setLimits(next.maxConnections(), next.maxRequests());
        for (CircuitBreaker b : endpoints.values()) {
            b.setLimits(perEndpoint(next.maxConnectionsPerEndpoint()), perEndpoint(next.maxRequestsPerEndpoint()));
        }
    }

    /** Forgets the breakers of members no longer in the pool (their holders still release to them). */
    public void retain(Collection<Member> members) {
        Set<Member> keep = Collections.newSetFromMap(new IdentityHashMap<>());
        keep.addAll(members);
        endpoints.keySet().removeIf(m -> !keep.contains(m));
    }

    /** The {@code Retry-After} value, in whole seconds, of a 503 sent because a breaker is full. */
    public long retryAfterSeconds() {
        Duration d = limits.retryAfter();
        return Math.max(1, (d.toMillis() + 999) / 1000);
    }

    /** The pool's name. */
    public String poolName() {
        return poolName;
    }
}
