package io.sluice.balance;

import io.sluice.config.PoolConfig;
import io.sluice.time.Clock;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Builds the balancing policy a pool's configuration names.
 *
 * <p>Production passes {@code ThreadLocalRandom::current} and {@link Clock#system()}; tests and the replay pass a
 * seeded generator and a manual clock, so every policy is deterministic under test.
 */
public final class Balancers {

    private Balancers() {
    }

    /**
     * The policy for a pool.
     *
     * @throws IllegalArgumentException if the policy is unknown or not available in this build
     */
    public static LoadBalancer of(PoolConfig config, Supplier<RandomGenerator> random, Clock clock) {
        return switch (config.policy()) {
            case "round-robin" -> new RoundRobin(random);
            case "least-connections" -> new LeastConnections(false, random);
            case "weighted-least-connections" -> new LeastConnections(true, random);
            default -> throw new IllegalArgumentException("policy " + config.policy() + " is not available yet");
        };
    }

    /** {@code round-robin}. */
    public static LoadBalancer roundRobin(Supplier<RandomGenerator> random) {
        return new RoundRobin(random);
    }

    /** {@code least-connections}. */
    public static LoadBalancer leastConnections(Supplier<RandomGenerator> random) {
        return new LeastConnections(false, random);
    }
}
