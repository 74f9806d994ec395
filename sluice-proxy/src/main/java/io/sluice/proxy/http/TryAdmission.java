package io.sluice.proxy.http;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.endpoint.Member;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamConnector;
import io.sluice.proxy.upstream.UpstreamPools;
import io.sluice.resilience.CircuitBreaker;
import io.sluice.resilience.CircuitBreaker.Resource;
import io.sluice.resilience.CircuitBreakers;
import io.sluice.resilience.PendingQueue;

/**
 * Gets each try of an exchange an endpoint and a connection within its pool's limits, and gives the limits back when
 * the try ends.
 *
 * <p>A try picks an endpoint and takes a unit of the pool's and the endpoint's {@code max_requests}; a full endpoint
 * makes it pick another (up to {@value #MAX_PICKS} picks), a full pool refuses it. It then leases an idle
 * connection to the endpoint on this event loop, or opens one if {@code max_connections} allows (the unit goes back
 * when that connection closes, whoever uses it then). Otherwise the request waits in the pool's
 * {@link PendingQueue} (Envoy's {@code max_pending_requests}): it gives its request unit back, and the next
 * connection of the pool to close wakes it to start over; a full queue refuses it, and a wait longer than
 * {@code pending_timeout} ends with the exchange's timer. Everything runs on the exchange's event loop except the
 * wake-up, which is posted to it.
 */
final class TryAdmission {

    /** What the admission reports to its exchange. */
    interface Owner {
        /** The try has its connection. */
        void connected(UpstreamConnection connection);

        /** The connection attempt of the try failed. */
        void connectFailed(Throwable cause);

        /** No endpoint can take the request (none usable, or every one saturated: see the exception's reason). */
        void noEndpoint(NoEndpointException e, String reason);

        /**
         * A circuit breaker refused the request.
         *
         * @param resource {@code requests}, {@code pending} or {@code connections}
         */
        void refused(String resource, String reason);

        /** The request waits for a connection until this deadline (clock nanos). */
        void waitUntil(long deadlineNanos);

        /** True once the exchange has ended. */
        boolean finished();

        /** The clock. */
        long now();
    }

    private static final int MAX_PICKS = 8;

    private final Owner owner;
    private final PoolRuntime pool;
    private final PickContext pick;
    private final UpstreamConnector connector;
    private final Channel client;
    private Member member;
    /** An endpoint already picked for the next try (by the inference queue), or null. */
    private Member preselected;
    /** The member whose active-request count the current try holds, or null. */
    private Member counted;
    /** The endpoint breaker holding the current try's request unit, or null. */
    private CircuitBreaker requestUnit;
    /** Identifies the current try's connection attempt; null when none is under way. */
    private Object connecting;
    private int tries;
    private long tryStartNanos;
    private long waitingSinceNanos = -1;
    private Runnable waiter;

    TryAdmission(Owner owner, PoolRuntime pool, PickContext pick, UpstreamConnector connector, Channel client) {
        this.owner = owner;
        this.pool = pool;
        this.pick = pick;
        this.connector = connector;
        this.client = client;
    }

    /** The endpoint of the current (or last) try, or null before the first. */
    Member member() {
        return member;
    }

    /** Uses this endpoint for the next try instead of picking one (it was picked, and booked, already). */
    void preselect(Member m) {
        preselected = m;
    }

    /** Tries that got a connection or started opening one. */
    int tries() {
        return tries;
    }

    /** When the current try picked its endpoint. */
    long tryStartNanos() {
        return tryStartNanos;
    }

    /** Starts a try: an endpoint with room, then an idle connection, a new one, or a place in the queue. */
    void start() {
        CircuitBreakers breakers = pool.breakers();
        for (int picks = 0; requestUnit == null; picks++) {
            Member m = preselected;
            preselected = null;
            try {
                if (m == null) {
                    m = pool.pool().select(pick);
                }
            } catch (NoEndpointException e) {
                owner.noEndpoint(e, e.reason().message() + " in pool " + pool.name());
                return;
            }
            CircuitBreaker unit = breakers.endpoint(m);
            CircuitBreakers.Admission admission = breakers.tryAcquire(Resource.REQUESTS, unit);
            if (admission.admitted()) {
                member = m;
                requestUnit = unit;
            } else if (admission == CircuitBreakers.Admission.POOL_FULL || picks >= MAX_PICKS) {
                owner.refused("requests", "too many requests in flight to pool " + pool.name());
                return;
            } else {
                pick.exclude(m);
            }
        }
        tryStartNanos = owner.now();
        member.load().requestStarted();
        counted = member;
        UpstreamConnection idle = UpstreamPools.current().poll(member, owner.now(), pool.poolIdleNanos());
        if (idle != null) {
            tries++;
            waitingSinceNanos = -1;
            owner.connected(idle);
            return;
        }
        CircuitBreaker unit = requestUnit;
        if (!breakers.tryAcquire(Resource.CONNECTIONS, unit).admitted()) {
            waitForConnection();
            return;
        }
        tries++;
        waitingSinceNanos = -1;
        Object attempt = new Object();
        connecting = attempt;
        Future<UpstreamConnection> f = connector.connect(client.eventLoop(), pool, member);
        PoolRuntime owningPool = pool;
        f.addListener(done -> {
            boolean current = connecting == attempt && !owner.finished();
            if (current) {
                connecting = null;
            }
            if (done.isSuccess()) {
                UpstreamConnection c = f.getNow();
                // The unit goes back when the connection (for h2c/h2 pools: the stream) closes.
                c.channel().closeFuture().addListener(closed -> owningPool.releaseConnection(unit));
                if (current) {
                    owner.connected(c);
                } else {
                    UpstreamPools.current().offer(c, owner.now());
                }
            } else {
                owningPool.releaseConnection(unit);
                if (current) {
                    owner.connectFailed(done.cause());
                }
            }
        });
    }

    private void waitForConnection() {
        endTry();
        if (waitingSinceNanos < 0) {
            waitingSinceNanos = owner.now();
        }
        if (waiter == null) {
            EventExecutor loop = client.eventLoop();
            waiter = () -> loop.execute(this::connectionFreed);
        }
        PendingQueue<Runnable> queue = pool.current().pending();
        if (!queue.offer(waiter)) {
            waitingSinceNanos = -1;
            owner.refused(queue.capacity() > 0 ? "pending" : "connections",
                    "too many requests waiting for a connection to pool " + pool.name());
            return;
        }
        owner.waitUntil(waitDeadlineNanos());
    }

    /** A connection of the pool closed while this request waited: start over, or pass the turn on. */
    private void connectionFreed() {
        if (owner.finished() || waitingSinceNanos < 0) {
            pool.current().pending().poll().ifPresent(Runnable::run);
            return;
        }
        if (counted == null) {
            start();
        }
    }

    /** True while the request waits in the pending queue. */
    boolean waiting() {
        return waitingSinceNanos >= 0 && counted == null;
    }

    /** When the wait ends with a 503; meaningful while {@link #waiting()}. */
    long waitDeadlineNanos() {
        return waitingSinceNanos + pool.current().pending().timeout().toNanos();
    }

    /** Leaves the pending queue (timed out, or the exchange ended); a wake-up already on its way is passed on. */
    void stopWaiting() {
        if (waitingSinceNanos >= 0) {
            waitingSinceNanos = -1;
            pool.current().pending().remove(waiter);
        }
    }

    /** Ends the current try: gives back its active-request count and its request units. Idempotent. */
    void endTry() {
        connecting = null;
        if (counted != null) {
            counted.load().requestEnded();
            counted = null;
        }
        if (requestUnit != null) {
            pool.breakers().release(Resource.REQUESTS, requestUnit);
            requestUnit = null;
        }
    }
}
