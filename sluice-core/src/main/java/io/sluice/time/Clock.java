package io.sluice.time;

/**
 * The source of time for every decision Sluice makes.
 *
 * <p>Routing, health, retry and scheduling code never reads the system clock directly: the proxy passes
 * {@link #system()}, while tests and the replay pass a {@link ManualClock} and move time themselves. That is what
 * lets the same policy run in real time behind sockets and in virtual time over a trace.
 */
public interface Clock {

    /** Monotonic time in nanoseconds; only differences between two readings mean anything. */
    long nanoTime();

    /** Wall-clock time in milliseconds since the epoch, for timestamps shown to people. */
    long currentTimeMillis();

    /** The clock of the running JVM. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}
