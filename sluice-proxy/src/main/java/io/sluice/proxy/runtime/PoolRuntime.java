package io.sluice.proxy.runtime;

import io.sluice.balance.Balancers;
import io.sluice.balance.Pool;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.Clock;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A pool as the data plane uses it: the core {@link Pool} (members, snapshot, policy) plus what the proxy needs to
 * reach the members — resolved socket addresses and timeouts in the units the event loop wants.
 *
 * <p>Host names are resolved when the runtime is built, on the configuration thread, never on an event loop.
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

    private PoolRuntime(PoolConfig config, Pool pool) {
        this.config = config;
        this.pool = pool;
        this.affinity = PoolAffinity.of(config);
        this.connectTimeoutMillis = Math.max(1, config.timeouts().connect().toMillis());
        this.responseHeaderTimeoutNanos = config.timeouts().responseHeader().toNanos();
        this.idleTimeoutNanos = config.timeouts().idle().toNanos();
        this.poolIdleNanos = config.timeouts().poolIdle().toNanos();
    }

    /**
     * Builds a pool runtime, keeping the members of the pool it replaces.
     *
     * @throws UnknownHostException if an endpoint's host name does not resolve
     */
    public static PoolRuntime build(PoolConfig config, Optional<PoolRuntime> previous, Clock clock)
            throws UnknownHostException {
        Pool pool = Pool.of(config.name(), Balancers.of(config, ThreadLocalRandom::current, clock),
                new EndpointSet.Options(config.panicThreshold(), config.slowStart(), 0.1), clock,
                config.healthCheck().isPresent(), config.endpoints(), previous.map(PoolRuntime::pool));
        PoolRuntime runtime = new PoolRuntime(config, pool);
        for (Member m : pool.members()) {
            runtime.resolve(m.address());
        }
        return runtime;
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

    /** The core pool: members, snapshot and policy. */
    public Pool pool() {
        return pool;
    }

    /** What the pool's hash policy and sticky sessions read from requests and write to responses. */
    public PoolAffinity affinity() {
        return affinity;
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
}
