package io.sluice.sim.engine;

import java.time.Duration;
import java.util.Objects;

/**
 * Failures a simulated server injects, so that retries, outlier detection and health checks can be exercised.
 *
 * <p>All draws come from the engine's seeded random generator, so a run with the same seed fails the same way.
 *
 * @param errorRate  probability that a request fails at once with a server error
 * @param resetRate  probability that a request's connection is reset at a random point of its output
 * @param stallRate  stalls per second of engine time (Poisson): the engine freezes for {@code stall}
 * @param stall      how long a stall lasts
 * @param warmup     time after start during which the server is not ready ({@code /health} answers 503)
 * @param coldFactor how much slower iterations are just after warm-up (1: not at all)
 * @param cold       time over which the slowdown fades linearly to none
 */
public record Faults(double errorRate, double resetRate, double stallRate, Duration stall, Duration warmup,
                     double coldFactor, Duration cold) {

    /** No faults. */
    public static final Faults NONE = new Faults(0, 0, 0, Duration.ZERO, Duration.ZERO, 1, Duration.ZERO);

    /** Checks the ranges. */
    public Faults {
        Objects.requireNonNull(stall, "stall");
        Objects.requireNonNull(warmup, "warmup");
        Objects.requireNonNull(cold, "cold");
        if (!(errorRate >= 0 && errorRate <= 1) || !(resetRate >= 0 && resetRate <= 1)) {
            throw new IllegalArgumentException("error and reset rates must be within [0, 1]");
        }
        if (!(stallRate >= 0) || !(coldFactor >= 1)) {
            throw new IllegalArgumentException("stall rate must be >= 0 and cold factor >= 1");
        }
        if (stall.isNegative() || warmup.isNegative() || cold.isNegative()) {
            throw new IllegalArgumentException("fault durations cannot be negative");
        }
    }

    /** A copy with another error rate. */
    public Faults withErrorRate(double value) {
        return new Faults(value, resetRate, stallRate, stall, warmup, coldFactor, cold);
    }

    /** A copy with another reset rate. */
    public Faults withResetRate(double value) {
        return new Faults(errorRate, value, stallRate, stall, warmup, coldFactor, cold);
    }

    /** A copy with other stalls. */
    public Faults withStalls(double perSecond, Duration length) {
        return new Faults(errorRate, resetRate, perSecond, length, warmup, coldFactor, cold);
    }

    /** A copy with another warm-up and cold start. */
    public Faults withWarmup(Duration notReady, double slowdown, Duration fade) {
        return new Faults(errorRate, resetRate, stallRate, stall, notReady, slowdown, fade);
    }
}
