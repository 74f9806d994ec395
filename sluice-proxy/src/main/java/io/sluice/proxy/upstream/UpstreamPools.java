package io.sluice.proxy.upstream;

import io.netty.util.concurrent.FastThreadLocal;
import io.sluice.endpoint.AdminState;
import io.sluice.endpoint.Member;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The idle upstream connections of one event loop, per endpoint.
 *
 * <p>Each event loop keeps its own pools (Envoy's per-worker connection pools), so leasing and returning a connection
 * takes no lock and a request and its upstream connection always share a thread. The most recently used connection
 * is reused first (LIFO), which lets surplus connections age out. Connections idle longer than the pool's idle limit,
 * or whose endpoint is draining or gone, are closed on the next lease or sweep.
 */
public final class UpstreamPools {

    private static final FastThreadLocal<UpstreamPools> CURRENT = new FastThreadLocal<>() {
        @Override
        protected UpstreamPools initialValue() {
            return new UpstreamPools();
        }
    };

    /** Idle connections kept per endpoint and event loop. */
    private static final int MAX_IDLE_PER_ENDPOINT = 256;

    private final Map<Member, ArrayDeque<UpstreamConnection>> idle = new IdentityHashMap<>();

    /** The pools of the calling event loop. */
    public static UpstreamPools current() {
        return CURRENT.get();
    }

    /** An idle connection to the member that may carry a request, or null. */
    public UpstreamConnection poll(Member member, long nowNanos, long maxIdleNanos) {
        ArrayDeque<UpstreamConnection> q = idle.get(member);
        if (q == null) {
            return null;
        }
        UpstreamConnection c;
        while ((c = q.pollLast()) != null) {
            if (c.usable() && nowNanos - c.idleSinceNanos() < maxIdleNanos) {
                return c;
            }
            c.close();
        }
        return null;
    }

    /** Returns a connection after a complete exchange; it is closed instead if it cannot be kept. */
    public void offer(UpstreamConnection c, long nowNanos) {
        if (!c.unlease(nowNanos)) {
            return;
        }
        if (c.member().adminState() == AdminState.DRAINING) {
            c.close();
            return;
        }
        ArrayDeque<UpstreamConnection> q = idle.computeIfAbsent(c.member(), m -> new ArrayDeque<>());
        if (q.size() >= MAX_IDLE_PER_ENDPOINT) {
            c.close();
            return;
        }
        q.addLast(c);
    }

    /** Forgets a connection that closed. */
    void remove(UpstreamConnection c) {
        ArrayDeque<UpstreamConnection> q = idle.get(c.member());
        if (q != null) {
            q.remove(c);
            if (q.isEmpty()) {
                idle.remove(c.member());
            }
        }
    }

    /**
     * Closes idle connections that are too old, to draining endpoints, or to endpoints for which {@code keep} is
     * false (removed from their pool).
     */
    public void sweep(long nowNanos, long maxIdleNanos, java.util.function.Predicate<Member> keep) {
        List<UpstreamConnection> doomed = new ArrayList<>();
        for (Iterator<Map.Entry<Member, ArrayDeque<UpstreamConnection>>> it = idle.entrySet().iterator();
             it.hasNext(); ) {
            Map.Entry<Member, ArrayDeque<UpstreamConnection>> e = it.next();
            boolean keepMember = keep.test(e.getKey()) && e.getKey().adminState() == AdminState.ENABLED;
            for (UpstreamConnection c : e.getValue()) {
                if (!keepMember || !c.usable() || nowNanos - c.idleSinceNanos() >= maxIdleNanos) {
                    doomed.add(c);
                }
            }
        }
        for (UpstreamConnection c : doomed) {
            remove(c);
            c.close();
        }
    }

    /** Number of idle connections (for tests and the admin API). */
    public int idleCount() {
        int n = 0;
        for (ArrayDeque<UpstreamConnection> q : idle.values()) {
            n += q.size();
        }
        return n;
    }

    /** Closes every idle connection (shutdown). */
    public void closeAll() {
        List<UpstreamConnection> all = new ArrayList<>();
        idle.values().forEach(all::addAll);
        idle.clear();
        all.forEach(UpstreamConnection::close);
    }
}
