package io.sluice.balance;

import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.LoadStats;
import io.sluice.time.Clock;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Builds a pool's balancing policy from its configuration: the one place that maps the policy names of
 * DESIGN.md §6 to their classes.
 *
 * <p>The proxy passes {@code ThreadLocalRandom::current} and {@link Clock#system()}; tests and the replay pass a
 * seeded generator and a manual clock, which makes every pick reproducible. Hash policies come wrapped with their
 * {@code hash_fallback} ({@link HashBalancer}), and a pool with {@code sticky:} comes wrapped with its
 * {@link StickySessions}.
 */
public final class Balancers {

    /** Ring points per unit of weight when the configuration lists no endpoint to size the ring from. */
    static final double DEFAULT_POINTS_PER_WEIGHT = 160;

    private static final int DEFAULT_MAGLEV_TABLE_SIZE = 65537;
    private static final double DEFAULT_HASH_BALANCE_FACTOR = 1.25;

    private Balancers() {
    }

    /**
     * The policy of a pool.
     *
     * @param config the pool's configuration (policy, hash settings, sticky sessions)
     * @param random the random source, asked once per pick that needs randomness (it may return a thread-local)
     * @param clock  the time source of time-aware policies
     * @throws IllegalArgumentException if the policy is unknown or not available in this build
     */
    public static LoadBalancer of(PoolConfig config, Supplier<RandomGenerator> random, Clock clock) {
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(clock, "clock");
        LoadBalancer policy = policy(config.policy(), config, random, clock);
        if (PoolConfig.HASH_POLICIES.contains(config.policy())) {
            policy = new HashFallback(policy, policy(config.hashFallback(), config, random, clock));
        }
        if (config.sticky().isPresent()) {
            policy = StickySessions.of(config).orElseThrow().wrap(policy);
        }
        return policy;
    }

    /**
     * A policy by name with default settings (160 ring points per unit of weight, Maglev table of 65,537, balance factor 1.25,
     * fallback {@code round-robin}), for the replay and tools that compare policies.
     *
     * @throws IllegalArgumentException if the policy is unknown or not available in this build
     */
    public static LoadBalancer of(String policy, Supplier<RandomGenerator> random, Clock clock) {
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(clock, "clock");
        LoadBalancer built = policy(policy, null, random, clock);
        if (PoolConfig.HASH_POLICIES.contains(policy)) {
            built = new HashFallback(built, new RoundRobin(random));
        }
        return built;
    }

    /** {@code round-robin}. */
    public static LoadBalancer roundRobin(Supplier<RandomGenerator> random) {
        return new RoundRobin(random);
    }

    /** {@code least-connections}. */
    public static LoadBalancer leastConnections(Supplier<RandomGenerator> random) {
        return new LeastConnections(false, random);
    }

    /** Requests a pool's hash policy sent to its fallback for want of a key; 0 for other policies. */
    public static long keylessRequests(LoadBalancer balancer) {
        LoadBalancer b = balancer instanceof StickyBalancer s ? s.policy() : balancer;
        return b instanceof HashBalancer h ? h.keylessRequests() : 0;
    }

    /** {@code config} is null for defaults. */
    private static LoadBalancer policy(String name, PoolConfig config, Supplier<RandomGenerator> random,
                                       Clock clock) {
        double pointsPerWeight = config == null ? DEFAULT_POINTS_PER_WEIGHT : pointsPerWeight(config);
        return switch (name) {
            case "round-robin" -> new RoundRobin(random);
            case "weighted-round-robin" -> new WeightedRoundRobin(random);
            case "random" -> new WeightedRandom(random);
            case "least-connections" -> new LeastConnections(false, random);
            case "weighted-least-connections" -> new LeastConnections(true, random);
            case "power-of-two" -> new PowerOfTwo(random);
            case "least-response-time" -> new LeastResponseTime(random, clock, LoadStats.DEFAULT_DECAY_NANOS);
            case "ip-hash" -> new IpHash();
            case "ring-hash" -> new RingHash(pointsPerWeight);
            case "maglev" -> new Maglev(config == null ? DEFAULT_MAGLEV_TABLE_SIZE : config.maglevTableSize());
            case "consistent-hash-bounded" -> new BoundedLoadHash(
                    config == null ? DEFAULT_HASH_BALANCE_FACTOR : config.hashBalanceFactor(), pointsPerWeight);
            case "inference", "llm-d", "sglang-cache-aware" -> inference(name, config, random, clock);
            default -> throw new IllegalArgumentException("'" + name + "' is not a policy ("
                    + String.join(", ", PoolConfig.POLICIES) + ")");
        };
    }

    /** The inference policies of {@code io.sluice.inference}, each on a fresh fleet state sized from config. */
    private static LoadBalancer inference(String name, PoolConfig config, Supplier<RandomGenerator> random,
                                          Clock clock) {
        io.sluice.config.InferenceConfig settings = config == null ? io.sluice.config.InferenceConfig.defaults()
                : config.inference().orElseGet(io.sluice.config.InferenceConfig::defaults);
        return io.sluice.inference.InferencePolicies.of(name,
                io.sluice.inference.InferencePolicies.fleetFor(name, settings, clock), random);
    }

    /**
     * Ring points per unit of weight: {@code ring_size} spread over the weight of the endpoints as configured, so
     * the ring has {@code ring_size} points when every configured endpoint is up at full weight. Fixed by the
     * configuration, not by the live endpoint count, so that membership changes do not re-size every endpoint's
     * share of the ring (see {@link HashRing}).
     */
    static double pointsPerWeight(PoolConfig config) {
        long total = 0;
        for (Endpoint e : config.endpoints()) {
            total += e.weight();
        }
        return total == 0 ? DEFAULT_POINTS_PER_WEIGHT : (double) config.ringSize() / total;
    }
}
