package io.sluice.inference;

import io.sluice.config.InferenceConfig;
import io.sluice.time.Clock;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.DoubleSupplier;

/**
 * The central queue of an inference pool: when every server is saturated, requests wait here instead of piling onto
 * the servers, and leave in an order that honours priority and shares fairly between tenants.
 *
 * <p><b>Order.</b> Strict priority bands: a request of a higher band always leaves before any request of a lower
 * one. Within a band, tenants take turns (deficit round robin with a quantum of one request and a cost of one per
 * request, which is plain round robin over the tenants that have something queued), and each tenant's own requests
 * leave in the order below. Round robin was chosen over virtual-time fair queuing because every request costs the
 * same unit here (the servers are saturated and admit one request per freed slot), so both give equal shares, and
 * round robin is O(1) with no clock arithmetic: two tenants sending 10:1 each get half of the dispatches while both
 * are backlogged. A client that sends more simply waits longer; it cannot crowd out a smaller tenant.
 *
 * <p><b>Order within a tenant</b> ({@code flow_control.order}). {@code fair-fifo}: arrival order.
 * {@code shortest-first} (the default): the request with the least predicted prefill leaves first, with aging so
 * that nothing starves: a request's effective cost is its predicted prefill in seconds (the {@code cost} given to
 * {@link #submit(Object, int, String, double, Dispatcher)}) minus {@code flow_control.aging} times the seconds it
 * has waited. Because every queued request ages at the same rate, this order never changes while requests wait, so
 * it is kept as a static key {@code cost + aging × enqueue time} (ties in arrival order). The bound that follows: a
 * request of cost {@code c} can be overtaken only by requests of its tenant and band that arrive less than
 * {@code c / aging} seconds after it. Priority bands, tenant turns, time-outs and refusals are the same in both
 * orders; only the order inside one tenant's queue of one band changes. Requests of equal cost (or submitted
 * without one) leave in arrival order under both. Why shortest-first is the default, with the replay numbers for
 * it: {@code docs/inference.md}, "Flow control".
 *
 * <p><b>Refusals.</b> A <em>sheddable</em> request (negative priority) that arrives while the pool is saturated is
 * refused at once ({@link ShedReason#SHEDDABLE}: answer 429 or 503 at once, it was sent knowing it might be dropped).
 * When the queue is full ({@code flow_control.max_queue}), a request of higher priority than the lowest queued one
 * displaces the newest of the lowest band ({@link ShedReason#DISPLACED}, answer 503); otherwise it is refused
 * ({@link ShedReason#QUEUE_FULL}, 503). A request that waited {@code flow_control.queue_timeout} leaves with
 * {@link ShedReason#TIMEOUT} (answer 429 with {@code Retry-After}, see {@link #retryAfterSeconds()}).
 *
 * <p><b>Driving it.</b> No threads and no timers of its own: the caller (the proxy, or the replay in virtual time)
 * {@link #submit}s each request with a {@link Dispatcher} that tries the pool ({@code pool.select}) and reports
 * whether it went; calls {@link #dispatch} whenever capacity may have freed (a request finished, a scrape arrived);
 * and calls {@link #expire} at {@link #nextDeadlineNanos()}. Asynchronous refusals (time-outs, displacements) go to
 * the {@link Listener}. Thread-safe: every method takes the queue's lock, and the dispatcher runs under it, so it
 * must not block.
 *
 * @param <T> the caller's handle for a request (the proxy's exchange, the replay's request)
 */
public final class FlowController<T> {

    /** What became of a submitted request. */
    public enum Outcome {
        /** Sent to a server at once. */
        DISPATCHED,
        /** Held in the queue (it may already have been dispatched through the dispatcher during the call). */
        QUEUED,
        /** Refused at once: sheddable and the pool is saturated. */
        SHED_SHEDDABLE,
        /** Refused at once: the queue is full of requests of equal or higher priority. */
        REJECTED_FULL
    }

    /** Why a request was refused, as the {@code reason} label of {@code sluice_inference_shed_total}. */
    public enum ShedReason {
        /** Sheddable request under saturation. */
        SHEDDABLE("sheddable"),
        /** The queue was full. */
        QUEUE_FULL("queue_full"),
        /** Pushed out of a full queue by a request of higher priority. */
        DISPLACED("displaced"),
        /** Waited longer than the queue timeout. */
        TIMEOUT("timeout");

        private final String label;

        ShedReason(String label) {
            this.label = label;
        }

        /** The metric label value. */
        public String label() {
            return label;
        }
    }

    /** Tries to send a request to a server. */
    @FunctionalInterface
    public interface Dispatcher<T> {
        /**
         * Tries to send the request.
         *
         * @return true if the request left the queue (sent, or answered otherwise by the caller); false if the pool
         *         is still saturated for it, which stops this round of dispatching
         */
        boolean tryDispatch(T request);
    }

    /** Receives requests refused after they were queued. */
    @FunctionalInterface
    public interface Listener<T> {
        /** The request leaves the queue unserved: answer it (429 with Retry-After for a time-out, else 503). */
        void refused(T request, ShedReason reason, long retryAfterSeconds);
    }

    private static final class Entry<T> {
        final T request;
        final int priority;
        final Tenant<T> tenant;
        final long enqueuedNanos;
        final long deadlineNanos;
        final long seq;
        final double key;
        boolean gone;

        Entry(T request, int priority, Tenant<T> tenant, long enqueuedNanos, long deadlineNanos, long seq,
              double key) {
            this.request = request;
            this.priority = priority;
            this.tenant = tenant;
            this.enqueuedNanos = enqueuedNanos;
            this.deadlineNanos = deadlineNanos;
            this.seq = seq;
            this.key = key;
        }
    }

    /** Lowest key first, then arrival order (fair-fifo gives every entry the key 0). */
    private static int byKey(Entry<?> a, Entry<?> b) {
        int c = Double.compare(a.key, b.key);
        return c != 0 ? c : Long.compare(a.seq, b.seq);
    }

    private static final class Tenant<T> {
        final String name;
        final TreeSet<Entry<T>> queue = new TreeSet<>(FlowController::byKey);
        boolean active;

        Tenant(String name) {
            this.name = name;
        }
    }

    private static final class Band<T> {
        final Map<String, Tenant<T>> tenants = new HashMap<>();
        final ArrayDeque<Tenant<T>> turns = new ArrayDeque<>();
        int size;
    }

    private final String pool;
    private final int maxQueue;
    private final long timeoutNanos;
    private final boolean shortestFirst;
    private final double aging;
    private final long origin;
    private final Clock clock;
    private final Listener<T> listener;
    private final TreeMap<Integer, Band<T>> bands = new TreeMap<>();
    private final ArrayDeque<Entry<T>> byArrival = new ArrayDeque<>();
    private final Map<T, Entry<T>> byRequest = new HashMap<>();
    private final EnumMap<ShedReason, Long> shed = new EnumMap<>(ShedReason.class);
    private int size;
    private long seq;
    private long dispatched;
    private long totalWaitNanos;
    private double dispatchRate;
    private long lastDispatchNanos = Long.MIN_VALUE;

    private FlowController(String pool, InferenceConfig.FlowControl config, Clock clock, Listener<T> listener) {
        this.pool = Objects.requireNonNull(pool, "pool");
        this.maxQueue = config.maxQueue();
        this.timeoutNanos = config.queueTimeout().toNanos();
        this.shortestFirst = config.order() == InferenceConfig.QueueOrder.SHORTEST_FIRST;
        this.aging = config.aging();
        this.clock = Objects.requireNonNull(clock, "clock");
        this.origin = clock.nanoTime();
        this.listener = Objects.requireNonNull(listener, "listener");
        for (ShedReason r : ShedReason.values()) {
            shed.put(r, 0L);
        }
    }

    /** A queue for a pool. */
    public static <T> FlowController<T> of(String pool, InferenceConfig.FlowControl config, Clock clock,
                                           Listener<T> listener) {
        return new FlowController<>(pool, config, clock, listener);
    }

    /** The pool's name, for metric labels. */
    public String pool() {
        return pool;
    }

    /** Submits a request of no particular cost (see the {@code DoubleSupplier} overload). */
    public Outcome submit(T request, int priority, String tenant, Dispatcher<T> dispatcher) {
        return submit(request, priority, tenant, () -> 0, dispatcher);
    }

    /** Submits a request of a known cost (see the {@code DoubleSupplier} overload). */
    public Outcome submit(T request, int priority, String tenant, double cost, Dispatcher<T> dispatcher) {
        return submit(request, priority, tenant, () -> cost, dispatcher);
    }

    /**
     * Submits a request: sends it at once if nothing of its priority or higher is queued and the dispatcher can
     * place it; otherwise queues it (or refuses it), then lets queued requests leave while the dispatcher can place
     * them.
     *
     * @param request  the caller's handle; must not be submitted twice while queued
     * @param priority higher leaves first; negative is sheddable
     * @param tenant   whose share the request counts against
     * @param cost     predicted prefill in seconds (uncached prompt tokens over the prefill rate); orders the
     *                 tenant's queue under {@code order: shortest-first}, ignored under {@code fair-fifo}; asked
     *                 for only when the request is queued (under this queue's lock, so it must not block)
     */
    public synchronized Outcome submit(T request, int priority, String tenant, DoubleSupplier cost,
                                       Dispatcher<T> dispatcher) {
        Objects.requireNonNull(request, "request");
        if (!queuedAtOrAbove(priority) && dispatcher.tryDispatch(request)) {
            return Outcome.DISPATCHED;
        }
        if (priority < 0) {
            count(ShedReason.SHEDDABLE);
            return Outcome.SHED_SHEDDABLE;
        }
        Outcome o = enqueue(request, priority, tenant, shortestFirst ? cost.getAsDouble() : 0);
        if (o == Outcome.QUEUED) {
            dispatchLocked(dispatcher, Integer.MAX_VALUE);
        }
        return o;
    }

    /** Lets queued requests leave, best first, until the dispatcher reports saturation; returns how many left. */
    public synchronized int dispatch(Dispatcher<T> dispatcher) {
        return dispatchLocked(dispatcher, Integer.MAX_VALUE);
    }

    /**
     * Lets up to {@code budget} queued requests leave, best first, until the dispatcher reports saturation; returns
     * how many left. The budget paces the queue to the capacity an event freed (see
     * {@link FleetState#releasedByReading}).
     */
    public synchronized int dispatch(Dispatcher<T> dispatcher, int budget) {
        return budget <= 0 ? 0 : dispatchLocked(dispatcher, budget);
    }

    /** Refuses every request that waited past the timeout (through the listener); returns how many. */
    public synchronized int expire() {
        long now = clock.nanoTime();
        int n = 0;
        while (!byArrival.isEmpty()) {
            Entry<T> e = byArrival.peekFirst();
            if (e.gone) {
                byArrival.pollFirst();
                continue;
            }
            if (e.deadlineNanos - now > 0) {
                break;
            }
            byArrival.pollFirst();
            remove(e);
            count(ShedReason.TIMEOUT);
            listener.refused(e.request, ShedReason.TIMEOUT, retryAfterLocked());
            n++;
        }
        return n;
    }

    /** When the oldest queued request times out; {@link Long#MAX_VALUE} if the queue is empty. */
    public synchronized long nextDeadlineNanos() {
        while (!byArrival.isEmpty() && byArrival.peekFirst().gone) {
            byArrival.pollFirst();
        }
        return byArrival.isEmpty() ? Long.MAX_VALUE : byArrival.peekFirst().deadlineNanos;
    }

    /** Takes a request out of the queue (its client went away); false if it was not queued. */
    public synchronized boolean cancel(T request) {
        Entry<T> e = byRequest.get(request);
        if (e == null) {
            return false;
        }
        remove(e);
        return true;
    }

    /** Requests queued. */
    public synchronized int size() {
        return size;
    }

    /** Requests queued per priority, highest first ({@code sluice_inference_queue_size{pool,priority}}). */
    public synchronized Map<Integer, Integer> sizes() {
        Map<Integer, Integer> out = new TreeMap<>(java.util.Collections.reverseOrder());
        for (Map.Entry<Integer, Band<T>> b : bands.entrySet()) {
            out.put(b.getKey(), b.getValue().size);
        }
        return out;
    }

    /** Requests refused for a reason since the queue was made ({@code sluice_inference_shed_total}). */
    public synchronized long shed(ShedReason reason) {
        return shed.get(reason);
    }

    /** Requests that left the queue for a server, and their total wait in nanoseconds (for a mean wait). */
    public synchronized long[] dispatchedAndWaitNanos() {
        return new long[] {dispatched, totalWaitNanos};
    }

    /** How long the oldest queued request has waited, in nanoseconds (0 if none). */
    public synchronized long oldestWaitNanos() {
        long d = nextDeadlineNanos();
        return d == Long.MAX_VALUE ? 0 : Math.max(0, clock.nanoTime() - (d - timeoutNanos));
    }

    /**
     * A {@code Retry-After} for refused requests, in seconds: the time the queue needs to drain at its recent
     * dispatch rate, between 1 s and the queue timeout.
     */
    public synchronized long retryAfterSeconds() {
        return retryAfterLocked();
    }

    // ---- internals ------------------------------------------------------------------------------------------

    private long retryAfterLocked() {
        long max = Math.max(1, (timeoutNanos + 999_999_999L) / 1_000_000_000L);
        if (dispatchRate <= 0) {
            return max;
        }
        double seconds = (size + 1) / dispatchRate;
        return Math.max(1, Math.min(max, (long) Math.ceil(seconds)));
    }

    private boolean queuedAtOrAbove(int priority) {
        return !bands.isEmpty() && bands.lastKey() >= priority;
    }

    private Outcome enqueue(T request, int priority, String tenantName, double cost) {
        if (size >= maxQueue) {
            if (bands.isEmpty() || bands.firstKey() >= priority) {
                count(ShedReason.QUEUE_FULL);
                return Outcome.REJECTED_FULL;
            }
            Entry<T> victim = newestOf(bands.firstKey());
            remove(victim);
            count(ShedReason.DISPLACED);
            listener.refused(victim.request, ShedReason.DISPLACED, retryAfterLocked());
        }
        long now = clock.nanoTime();
        Band<T> band = bands.computeIfAbsent(priority, p -> new Band<>());
        Tenant<T> tenant = band.tenants.computeIfAbsent(tenantName, Tenant::new);
        double key = shortestFirst ? Math.max(0, cost) + aging * ((now - origin) / 1e9) : 0;
        Entry<T> e = new Entry<>(request, priority, tenant, now, now + timeoutNanos, seq++, key);
        tenant.queue.add(e);
        if (!tenant.active) {
            tenant.active = true;
            band.turns.addLast(tenant);
        }
        band.size++;
        size++;
        byArrival.addLast(e);
        byRequest.put(request, e);
        return Outcome.QUEUED;
    }

    /** The most recently queued request of a band (the arrival list, newest end first). */
    private Entry<T> newestOf(int priority) {
        for (Iterator<Entry<T>> it = byArrival.descendingIterator(); it.hasNext();) {
            Entry<T> e = it.next();
            if (!e.gone && e.priority == priority) {
                return e;
            }
        }
        throw new IllegalStateException("band " + priority + " is not queued");
    }

    private int dispatchLocked(Dispatcher<T> dispatcher, int budget) {
        int n = 0;
        while (!bands.isEmpty() && n < budget) {
            Band<T> band = bands.lastEntry().getValue();
            Tenant<T> tenant = band.turns.peekFirst();
            Entry<T> e = tenant.queue.first();
            if (!dispatcher.tryDispatch(e.request)) {
                break;
            }
            // The tenant had its turn: to the back of the line.
            band.turns.pollFirst();
            remove(e);
            if (!tenant.queue.isEmpty()) {
                band.turns.addLast(tenant);
                tenant.active = true;
            }
            long now = clock.nanoTime();
            dispatched++;
            totalWaitNanos += now - e.enqueuedNanos;
            noteDispatch(now);
            n++;
        }
        return n;
    }

    private void noteDispatch(long now) {
        if (lastDispatchNanos != Long.MIN_VALUE) {
            double gap = Math.max(1e-6, (now - lastDispatchNanos) / 1e9);
            double alpha = 0.1;
            dispatchRate = dispatchRate == 0 ? 1 / gap : (1 - alpha) * dispatchRate + alpha / gap;
        }
        lastDispatchNanos = now;
    }

    /** Removes an entry from its tenant and band (the arrival list drops it lazily). */
    private void remove(Entry<T> e) {
        if (e.gone) {
            return;
        }
        e.gone = true;
        byRequest.remove(e.request);
        Band<T> band = bands.get(e.priority);
        Tenant<T> t = e.tenant;
        t.queue.remove(e);
        if (t.queue.isEmpty()) {
            t.active = false;
            band.turns.remove(t);
            band.tenants.remove(t.name);
        }
        band.size--;
        size--;
        if (band.size == 0) {
            bands.remove(e.priority);
        }
        // The arrival list drops entries lazily, from its head, when the head times out. Entries that left by
        // dispatch or cancellation would otherwise stay referenced (with their requests) after a burst drains, or
        // pile up behind one long-waiting entry.
        if (size == 0) {
            byArrival.clear();
        } else if (byArrival.size() > 2 * size + 64) {
            byArrival.removeIf(a -> a.gone);
        }
    }

    /** Entries the arrival list still references, gone ones included (for tests). */
    synchronized int arrivalEntries() {
        return byArrival.size();
    }

    private void count(ShedReason reason) {
        shed.merge(reason, 1L, Long::sum);
    }

    @Override
    public synchronized String toString() {
        StringBuilder sb = new StringBuilder("FlowController[").append(pool).append(", ").append(size)
                .append(" queued");
        for (Iterator<Map.Entry<Integer, Band<T>>> it = bands.descendingMap().entrySet().iterator(); it.hasNext();) {
            Map.Entry<Integer, Band<T>> b = it.next();
            sb.append(", p").append(b.getKey()).append('=').append(b.getValue().size);
        }
        return sb.append(']').toString();
    }
}
