package io.sluice.proxy.health;

import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.sluice.balance.Pool;
import io.sluice.config.HealthCheckConfig;
import io.sluice.endpoint.Member;
import io.sluice.health.HealthChecker;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.time.Clock;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * Keeps the pools' health verdicts current: runs the active health checks of every endpoint, ends outlier
 * ejections whose time is up, and rebuilds the snapshots of pools whose endpoints are still ramping up (slow start).
 *
 * <p>All of it runs on one event loop of its own, not on the data-plane loops, for three reasons: the registry of
 * probes and every probe's state are confined to that thread, so reloads and admin changes reconcile them without
 * locks; a probe measures the endpoint, not the backlog of a busy data-plane loop, so a saturated proxy does not
 * time its own probes out and mark healthy endpoints down; and the cost is one mostly idle thread (probes are a
 * few per endpoint and interval). Nothing here blocks: probes are non-blocking connects with timers.
 *
 * <p>The monitor follows the {@linkplain #apply current runtime}: a reload rebinds the probes of kept endpoints to
 * the new pools (their checkers carry their state over), starts probes for new endpoints, and stops probing
 * endpoints that left. Endpoints added or removed through the admin API are picked up from the pool's change
 * notifications. A new endpoint of a checked pool takes traffic only after its first passing probe.
 */
public final class HealthMonitor implements AutoCloseable {

    /** How often ejections are ended and slow-start weights refreshed. */
    private static final long TICK_MILLIS = 100;

    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final Clock clock;
    /** Written on the loop only; read by metrics and the admin API. */
    private final Map<Member, ProbeTask> tasks = new ConcurrentHashMap<>();
    private final Set<Pool> watched = Collections.newSetFromMap(new IdentityHashMap<>());
    private volatile ProxyRuntime runtime;

    private HealthMonitor(EventLoopGroup group, Class<? extends SocketChannel> channelClass, Clock clock) {
        this.group = group;
        this.loop = group.next();
        this.channelClass = channelClass;
        this.clock = clock;
    }

    /**
     * Starts the monitor on a group of its own.
     *
     * @param group        a one-thread event loop group, owned by the monitor from now on
     * @param channelClass the transport's socket class, for probes
     * @param clock        the time source of verdicts
     */
    public static HealthMonitor start(EventLoopGroup group, Class<? extends SocketChannel> channelClass,
                                      Clock clock) {
        HealthMonitor monitor = new HealthMonitor(group, channelClass, clock);
        monitor.loop.scheduleAtFixedRate(monitor::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return monitor;
    }

    /**
     * Follows a runtime now in force (at start and after each reload); returns once the probes are rebound, so a
     * reload that has returned is fully in force. Called off the monitor's loop (the admin or signal thread).
     */
    public void apply(ProxyRuntime next) {
        runtime = next;
        loop.submit(this::reconcileAll).syncUninterruptibly();
    }

    /** The checker of an endpoint, if its pool has an active check. */
    public Optional<HealthChecker> checker(Member member) {
        ProbeTask t = tasks.get(member);
        return t == null ? Optional.empty() : Optional.of(t.checker());
    }

    /** Calls the action with (pool name, checker) for every endpoint probed now. */
    public void forEachChecker(BiConsumer<String, HealthChecker> action) {
        for (ProbeTask t : tasks.values()) {
            action.accept(t.pool().name(), t.checker());
        }
    }

    private void reconcileAll() {
        ProxyRuntime r = runtime;
        for (PoolRuntime p : r.pools()) {
            watch(p);
            reconcile(p);
            // A verdict may have changed between the new pool's build and this rebind: publish it.
            p.pool().rebuild();
        }
        tasks.values().removeIf(t -> {
            Optional<PoolRuntime> now = r.pool(t.pool().name());
            boolean keep = now.isPresent() && now.get() == t.pool() && now.get().config().healthCheck().isPresent()
                    && now.get().pool().members().contains(t.member());
            if (!keep) {
                t.cancel();
            }
            return !keep;
        });
        watched.retainAll(r.pools().stream().map(PoolRuntime::pool).toList());
    }

    private void watch(PoolRuntime p) {
        if (watched.add(p.pool())) {
            // Admin changes (added, removed endpoints) arrive as pool changes, from any thread.
            p.pool().onChange(pool -> loop.execute(() -> {
                ProxyRuntime r = runtime;
                if (r.pool(p.name()).orElse(null) == p) {
                    reconcile(p);
                }
            }));
        }
    }

    /** Starts probes for the pool's new endpoints, rebinds kept ones and stops those that left it. */
    private void reconcile(PoolRuntime p) {
        Optional<HealthCheckConfig> check = p.config().healthCheck();
        if (check.isPresent()) {
            for (Member m : p.pool().members()) {
                ProbeTask t = tasks.get(m);
                if (t == null) {
                    t = new ProbeTask(loop, channelClass, clock, p, m, check.get());
                    tasks.put(m, t);
                    t.start();
                } else if (t.pool() != p) {
                    t.rebind(p, check.get());
                }
            }
        }
        tasks.values().removeIf(t -> {
            boolean gone = t.pool() == p && (check.isEmpty() || !p.pool().members().contains(t.member()));
            if (gone) {
                t.cancel();
            }
            return gone;
        });
    }

    private void tick() {
        ProxyRuntime r = runtime;
        if (r == null) {
            return;
        }
        long now = clock.nanoTime();
        for (PoolRuntime p : r.pools()) {
            p.outlier().ifPresent(d -> d.sweep(now));
            if (p.pool().snapshot().ramping()) {
                p.pool().rebuild();
            }
        }
    }

    /** Stops every probe and the monitor's thread. */
    @Override
    public void close() {
        loop.execute(() -> {
            tasks.values().forEach(ProbeTask::cancel);
            tasks.clear();
        });
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
