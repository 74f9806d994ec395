package io.sluice.proxy.runtime;

import io.netty.handler.ssl.SslContext;
import io.sluice.balance.Balancers;
import io.sluice.balance.Pool;
import io.sluice.config.LimitsConfig;
import io.sluice.config.PoolConfig;
import io.sluice.config.RetryConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.health.OutlierDetector;
import io.sluice.health.PoolModeTracker;
import io.sluice.proxy.inference.InferencePool;
import io.sluice.proxy.tls.TlsContexts;
import io.sluice.resilience.CircuitBreaker;
import io.sluice.resilience.CircuitBreakers;
import io.sluice.resilience.PendingQueue;
import io.sluice.resilience.RetryBudget;
import io.sluice.resilience.RetryPolicy;
import io.sluice.time.Clock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.SSLException;

/**
 * A pool as the data plane uses it: the core {@link Pool} (members, snapshot, policy) plus what the proxy needs to
 * reach the members — resolved socket addresses and timeouts in the units the event loop wants.
 *
 * <p>Host names are resolved when the runtime is built, on the configuration thread, never on an event loop.
 *
 * <p>It also holds what protects the pool (see docs/operations.md): the retry policy and budget, the circuit
 * breakers with their queue of requests waiting for a connection, outlier detection and the mode tracker. A reload
 * builds a new runtime beside the running one; what must not start from zero carries over from the runtime it
 * replaces: the breakers are the same object (their counts of units in use stay exact across the swap), an
 * unchanged budget and pending queue are kept, and the outlier detector and mode tracker copy their state. Building
 * changes nothing that the running runtime uses; {@link #activate} applies the rest once the new runtime is in.
 */
public final class PoolRuntime {

    private final PoolConfig config;
    private final Pool pool;
    private final PoolAffinity affinity;
    private final Map<Address, InetSocketAddress> resolved = new ConcurrentHashMap<>();
    private final long connectTimeoutMillis;
    private final long responseHeaderTimeoutNanos;
    private final long idleTimeoutNanos;
    private final long poolIdleNanos;
    private final Optional<SslContext> tls;
    private final long tryTimeoutNanos;
    private final RetryPolicy retryPolicy;
    private final RetryBudget retryBudget;
    private final CircuitBreakers breakers;
    private final PendingQueue<Runnable> pending;
    private final Optional<OutlierDetector> outlier;
    private final PoolModeTracker modes;
    private final Clock clock;
    private final Optional<InferencePool> inference;
    /** The runtime that replaced this one on a reload, so requests still in flight report to the live objects. */
    private volatile PoolRuntime successor;

    private PoolRuntime(PoolConfig config, Pool pool, Optional<PoolRuntime> previous, Clock clock,
                        Optional<SslContext> tls) {
        this.config = config;
        this.pool = pool;
        this.clock = clock;
        this.tls = tls;
        this.affinity = PoolAffinity.of(config);
        this.retryPolicy = RetryPolicy.of(config.retries(), config.timeouts());
        this.tryTimeoutNanos = Math.min(retryPolicy.perTryTimeout().toNanos(),
                config.timeouts().responseHeader().toNanos());
        RetryConfig retries = config.retries();
        this.retryBudget = previous.filter(p -> sameBudget(p.config.retries(), retries)).map(p -> p.retryBudget)
                .orElseGet(() -> RetryBudget.of(retries));
        LimitsConfig limits = config.limits();
        this.breakers = previous.map(p -> p.breakers).orElseGet(() -> CircuitBreakers.of(config.name(), limits));
        this.pending = previous.filter(p -> p.config.limits().maxPending() == limits.maxPending()
                        && p.config.limits().pendingTimeout().equals(limits.pendingTimeout()))
                .map(p -> p.pending)
                .orElseGet(() -> PendingQueue.of(limits.maxPending(), limits.pendingTimeout(), clock));
        this.outlier = config.outlierDetection().map(oc -> OutlierDetector.of(pool, oc,
                previous.flatMap(p -> p.outlier)));
        this.modes = PoolModeTracker.watch(pool, previous.map(p -> p.modes));
        this.connectTimeoutMillis = Math.max(1, config.timeouts().connect().toMillis());
        this.responseHeaderTimeoutNanos = config.timeouts().responseHeader().toNanos();
        this.idleTimeoutNanos = config.timeouts().idle().toNanos();
        this.poolIdleNanos = config.timeouts().poolIdle().toNanos();
        this.inference = InferencePool.of(config, pool, previous.flatMap(p -> p.inference), clock);
    }

    /**
     * Builds a pool runtime, keeping the members of the pool it replaces.
     *
     * @throws UnknownHostException if an endpoint's host name does not resolve
     * @throws SSLException         if the pool's TLS files cannot be loaded
     */
    public static PoolRuntime build(PoolConfig config, Optional<PoolRuntime> previous, Clock clock)
            throws UnknownHostException, SSLException {
        Optional<SslContext> tls = config.tls().isPresent()
                ? Optional.of(TlsContexts.client(config.tls().get(), config.protocol())) : Optional.empty();
        Pool pool = Pool.of(config.name(), InferencePool.balancer(config, previous.flatMap(p -> p.inference), clock)
                        .orElseGet(() -> Balancers.of(config, ThreadLocalRandom::current, clock)),
                new EndpointSet.Options(config.panicThreshold(), config.slowStart(), 0.1), clock,
                config.healthCheck().isPresent(), config.endpoints(), previous.map(PoolRuntime::pool));
        PoolRuntime runtime = new PoolRuntime(config, pool, previous, clock, tls);
        for (Member m : pool.members()) {
            runtime.resolve(m.address());
        }
        return runtime;
    }

    private static boolean sameBudget(RetryConfig a, RetryConfig b) {
        return a.budgetPercent() == b.budgetPercent() && a.minConcurrent() == b.minConcurrent();
    }

    /**
     * Puts this runtime in force after the swap: the runtime it replaces forwards to it, the shared breakers take
     * the new limits, waiters of a replaced pending queue are woken to queue again, and members kept from a pool
     * whose health check or outlier detection was removed are let back in.
     *
     * @param previous the runtime of the same pool that this one replaced, or empty
     */
    public void activate(Optional<PoolRuntime> previous) {
        breakers.update(config.limits());
        breakers.retain(pool.members());
        inference.ifPresent(i -> i.activate(previous.flatMap(p -> p.inference)));
        previous.ifPresent(p -> {
            p.successor = this;
            if (p.pending != pending) {
                Optional<Runnable> waiter;
                while ((waiter = p.pending.poll()).isPresent()) {
                    waiter.get().run();
                }
            }
        });
        long now = clock.nanoTime();
        boolean changed = false;
        for (Member m : pool.members()) {
            if (config.healthCheck().isEmpty() && !m.checkPassing()) {
                m.setCheckPassing(true, now);
                changed = true;
            }
            if (outlier.isEmpty() && m.ejectedUntilNanos() != Long.MIN_VALUE) {
                m.unEject(now);
                changed = true;
            }
        }
        if (changed) {
            pool.rebuild();
        }
    }

    /**
     * Returns the connection unit of an upstream connection that closed, and wakes the oldest request waiting for
     * a connection to this pool, if any.
     *
     * @param endpoint the endpoint breaker the unit was taken from
     */
    public void releaseConnection(CircuitBreaker endpoint) {
        breakers.release(CircuitBreaker.Resource.CONNECTIONS, endpoint);
        current().pending.poll().ifPresent(Runnable::run);
    }

    /** The runtime of this pool now in force: this one, or the one that replaced it on a reload. */
    public PoolRuntime current() {
        PoolRuntime r = this;
        PoolRuntime next;
        while ((next = r.successor) != null) {
            r = next;
        }
        return r;
    }

    /** Resolves an address (blocking for host names: call it off the event loops) and remembers the result. */
    public InetSocketAddress resolve(Address address) throws UnknownHostException {
        InetSocketAddress known = resolved.get(address);
        if (known != null) {
            return known;
        }
        InetSocketAddress sa = new InetSocketAddress(InetAddress.getByName(address.host()), address.port());
        resolved.put(address, sa);
        return sa;
    }

    /**
     * The socket address of a member. Addresses are resolved when members join, so this does not block; an IP
     * literal not seen before is parsed without DNS.
     */
    public InetSocketAddress socketAddress(Member member) {
        InetSocketAddress sa = resolved.get(member.address());
        if (sa != null) {
            return sa;
        }
        return InetSocketAddress.createUnresolved(member.address().host(), member.address().port());
    }

    /** The pool's configuration. */
    public PoolConfig config() {
        return config;
    }

    /** The pool's name. */
    public String name() {
        return config.name();
    }

    /** The TLS context for connections to the endpoints, if the pool re-encrypts. */
    public Optional<SslContext> tls() {
        return tls;
    }

    /** The core pool: members, snapshot and policy. */
    public Pool pool() {
        return pool;
    }

    /** What the pool's hash policy and sticky sessions read from requests and write to responses. */
    public PoolAffinity affinity() {
        return affinity;
    }

    /** The inference side (fleet, models, central queue) if the pool's policy is an inference policy. */
    public Optional<InferencePool> inference() {
        return inference;
    }

    /** Connect timeout in milliseconds. */
    public int connectTimeoutMillis() {
        return (int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis);
    }

    /** Time allowed from the end of the request to the response head. */
    public long responseHeaderTimeoutNanos() {
        return responseHeaderTimeoutNanos;
    }

    /** Time an exchange may go without a byte in either direction. */
    public long idleTimeoutNanos() {
        return idleTimeoutNanos;
    }

    /** Time an unused upstream connection is kept for reuse. */
    public long poolIdleNanos() {
        return poolIdleNanos;
    }

    /** Tries in all per request (1 = no retry). */
    public int maxAttempts() {
        return config.retries().attempts();
    }

    /** How long one try may wait for its response head: {@code per_try_timeout}, at most {@code response_header}. */
    public long tryTimeoutNanos() {
        return tryTimeoutNanos;
    }

    /** Whether and when a failed try is tried again. */
    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    /** The retries allowed in flight. */
    public RetryBudget retryBudget() {
        return retryBudget;
    }

    /** Connection and request limits of the pool and its endpoints (one object for the pool's whole life). */
    public CircuitBreakers breakers() {
        return breakers;
    }

    /** Requests waiting for a connection; each entry wakes its request on the request's own event loop. */
    public PendingQueue<Runnable> pending() {
        return pending;
    }

    /** Passive outlier detection, if configured. */
    public Optional<OutlierDetector> outlier() {
        return outlier;
    }

    /** Counts and logs the pool's mode changes (backup, panic, empty). */
    public PoolModeTracker modes() {
        return modes;
    }
}
