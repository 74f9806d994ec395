package io.sluice.resilience;

import io.sluice.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * The requests of a pool waiting for an upstream connection: a bounded FIFO with a deadline per waiter.
 *
 * <p>Envoy's {@code max_pending_requests} circuit breaker with its queue timeout (HAProxy's {@code maxqueue} and
 * {@code timeout queue}): when every connection the breakers allow is busy, a request may wait, but only among
 * {@code max_pending} others (past that, {@link #offer} refuses and the proxy answers 503 at once) and only for
 * {@code pending_timeout} (then {@link #expire} hands it back and the proxy answers 503). When a connection frees
 * up, the proxy takes the oldest waiter with {@link #poll()}.
 *
 * <p>Deadlines come from the injected clock, so the replay drives the queue in virtual time. Every waiter gets the
 * same timeout, so deadlines grow with arrival and expiry only ever looks at the head. A waiter leaves exactly one
 * way: polled (served), expired (timed out) or {@linkplain #remove removed} (its client went away); all three take
 * the queue's lock, so it can never be both served and timed out. A waiter polled just after its deadline is still
 * served: it was still waiting, and serving late beats failing.
 *
 * @param <T> what the proxy queues (a request's continuation)
 */
public final class PendingQueue<T> {

    private record Waiter<T>(T value, long deadlineNanos) {
    }

    private final int capacity;
    private final long timeoutNanos;
    private final Clock clock;
    private final ArrayDeque<Waiter<T>> waiters = new ArrayDeque<>();
    private final LongAdder overflows = new LongAdder();
    private final LongAdder timeouts = new LongAdder();

    private PendingQueue(int capacity, Duration timeout, Clock clock) {
        if (capacity < 0) {
            throw new IllegalArgumentException("capacity must not be negative: " + capacity);
        }
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative: " + timeout);
        }
        this.capacity = capacity;
        this.timeoutNanos = timeout.toNanos();
        this.clock = clock;
    }

    /**
     * Creates a queue.
     *
     * @param capacity most waiters at once ({@code max_pending}; 0: nobody waits)
     * @param timeout  longest wait ({@code pending_timeout})
     * @param clock    the time source of deadlines
     */
    public static <T> PendingQueue<T> of(int capacity, Duration timeout, Clock clock) {
        return new PendingQueue<>(capacity, Objects.requireNonNull(timeout, "timeout"),
                Objects.requireNonNull(clock, "clock"));
    }

    /**
     * Queues a waiter with the deadline now + timeout, unless the queue is full (then an overflow is counted).
     *
     * @return true if queued
     */
    public synchronized boolean offer(T value) {
        Objects.requireNonNull(value, "value");
        if (waiters.size() >= capacity) {
            overflows.increment();
            return false;
        }
        waiters.addLast(new Waiter<>(value, clock.nanoTime() + timeoutNanos));
        return true;
    }

    /** Takes the oldest waiter, to give it the connection that just freed up. */
    public synchronized Optional<T> poll() {
        Waiter<T> w = waiters.pollFirst();
        return w == null ? Optional.empty() : Optional.of(w.value());
    }

    /**
     * Removes every waiter whose deadline has passed, oldest first, and hands each to {@code onTimeout} (after
     * releasing the lock). Call it on a timer, or at {@link #nextDeadlineNanos()}.
     *
     * @return how many timed out
     */
    public int expire(Consumer<? super T> onTimeout) {
        ArrayDeque<T> expired = null;
        synchronized (this) {
            long now = clock.nanoTime();
            while (!waiters.isEmpty() && waiters.peekFirst().deadlineNanos() <= now) {
                if (expired == null) {
                    expired = new ArrayDeque<>();
                }
                expired.add(waiters.pollFirst().value());
            }
        }
        if (expired == null) {
            return 0;
        }
        timeouts.add(expired.size());
        for (T value : expired) {
            onTimeout.accept(value);
        }
        return expired.size();
    }

    /** Removes a waiter whose client went away (identity comparison). Returns true if it was still queued. */
    public synchronized boolean remove(T value) {
        for (Iterator<Waiter<T>> it = waiters.iterator(); it.hasNext(); ) {
            if (it.next().value() == value) {
                it.remove();
                return true;
            }
        }
        return false;
    }

    /** The deadline of the oldest waiter, or empty if none waits. */
    public synchronized OptionalLong nextDeadlineNanos() {
        Waiter<T> head = waiters.peekFirst();
        return head == null ? OptionalLong.empty() : OptionalLong.of(head.deadlineNanos());
    }

    /** Waiters now. */
    public synchronized int size() {
        return waiters.size();
    }

    /** The most waiters at once. */
    public int capacity() {
        return capacity;
    }

    /** The longest wait. */
    public Duration timeout() {
        return Duration.ofNanos(timeoutNanos);
    }

    /** Requests refused because the queue was full. */
    public long overflows() {
        return overflows.sum();
    }

    /** Waiters that timed out. */
    public long timeouts() {
        return timeouts.sum();
    }
}
