package io.sluice.time;

import java.time.Duration;

/**
 * A clock that moves only when told to: for unit tests and for the virtual-time replay.
 *
 * <p>Reads and writes are thread-safe, but the clock is meant to be driven by one thread.
 */
public final class ManualClock implements Clock {

    private static final long EPOCH_MILLIS = 1_700_000_000_000L;

    private volatile long nanos;

    private ManualClock(long startNanos) {
        this.nanos = startNanos;
    }

    /** A clock starting at zero nanoseconds. */
    public static ManualClock start() {
        return new ManualClock(0);
    }

    /** A clock starting at the given reading. */
    public static ManualClock at(long nanos) {
        return new ManualClock(nanos);
    }

    @Override
    public long nanoTime() {
        return nanos;
    }

    @Override
    public long currentTimeMillis() {
        return EPOCH_MILLIS + nanos / 1_000_000L;
    }

    /** Moves time forward by the given amount. */
    public void advance(Duration by) {
        advanceNanos(by.toNanos());
    }

    /** Moves time forward by the given number of nanoseconds. */
    public synchronized void advanceNanos(long by) {
        if (by < 0) {
            throw new IllegalArgumentException("time cannot go backwards: " + by + " ns");
        }
        nanos += by;
    }

    /** Sets the reading; it may not be earlier than the current one. */
    public synchronized void setNanos(long to) {
        if (to < nanos) {
            throw new IllegalArgumentException("time cannot go backwards: " + to + " < " + nanos);
        }
        nanos = to;
    }
}
