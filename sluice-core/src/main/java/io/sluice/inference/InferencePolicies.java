package io.sluice.inference;

import io.sluice.balance.LoadBalancer;
import io.sluice.config.InferenceConfig;
import io.sluice.config.PoolConfig;
import io.sluice.time.Clock;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * The inference-aware policies by name: {@code inference} (Sluice's scheduler, {@link InferenceScheduler}) and the
 * baselines {@code llm-d} ({@link LlmdBaseline}) and {@code sglang-cache-aware} ({@link SglangCacheAwareBaseline}).
 *
 * <p>Each policy reads and books into a {@link FleetState}. {@link #of(PoolConfig, Supplier, Clock)} makes a fresh
 * one; the data plane (or the replay) gets it back with {@link #fleet(LoadBalancer)} to publish scraped metrics into
 * it. To keep what a pool has learned (prefix index, rates) across a config reload, pass the previous fleet to
 * {@link #of(String, FleetState, Supplier)}; a fleet is tied to one policy's index sizing, so keep it only when
 * the policy did not change.
 */
public final class InferencePolicies {

    /** Policy names handled here. */
    public static final Set<String> NAMES = Set.of("inference", "llm-d", "sglang-cache-aware");

    private InferencePolicies() {
    }

    /** True if the policy name is one of {@link #NAMES}. */
    public static boolean handles(String policy) {
        return NAMES.contains(policy);
    }

    /**
     * Builds a pool's policy with a fresh fleet.
     *
     * @throws IllegalArgumentException if the pool's policy is not an inference policy
     */
    public static LoadBalancer of(PoolConfig pool, Supplier<RandomGenerator> random, Clock clock) {
        return of(pool.policy(), fleetFor(pool.policy(), pool.inference().orElseGet(InferenceConfig::defaults),
                clock), random);
    }

    /**
     * Builds a policy on an existing fleet.
     *
     * @throws IllegalArgumentException if the name is not an inference policy
     */
    public static LoadBalancer of(String policy, FleetState fleet, Supplier<RandomGenerator> random) {
        return switch (policy) {
            case "inference" -> new InferenceScheduler(fleet, random);
            case "llm-d" -> new LlmdBaseline(fleet, random);
            case "sglang-cache-aware" -> new SglangCacheAwareBaseline(fleet, random);
            default -> throw new IllegalArgumentException("'" + policy + "' is not an inference policy " + NAMES);
        };
    }

    /**
     * A fresh fleet sized for a policy: {@code llm-d} remembers 31,250 blocks per server (or the server's own KV
     * size) and matches at most 256 blocks, as its prefix scorer does; {@code sglang-cache-aware} keeps a tree of
     * 2<sup>24</sup> characters per worker whatever the server's memory; {@code inference} follows
     * {@code prefix_index}.
     */
    public static FleetState fleetFor(String policy, InferenceConfig config, Clock clock) {
        return switch (policy) {
            case "llm-d" -> FleetState.of(config.withPrefixIndex(new InferenceConfig.PrefixIndex(
                    config.prefixIndex().capacityBlocks(), LlmdBaseline.MAX_PREFIX_BLOCKS)), clock,
                    LlmdBaseline.PREFIX_CAPACITY, 1);
            case "sglang-cache-aware" -> FleetState.of(config.withPrefixIndex(new InferenceConfig.PrefixIndex(
                    SglangCacheAwareBaseline.TREE_BLOCKS, 1 << 20)), clock, FleetState.DEFAULT_INDEX_BLOCKS, 1);
            case "inference" -> FleetState.of(config, clock);
            default -> throw new IllegalArgumentException("'" + policy + "' is not an inference policy " + NAMES);
        };
    }

    /**
     * The central queue a policy gets: the baselines queue first come, first served (llm-d's flow control orders
     * each flow by arrival; the SGLang router never queues), whatever {@code flow_control.order} says; {@code
     * inference} gets the configured queue. The proxy and the replay both build their queue from this.
     */
    public static InferenceConfig.FlowControl flowControlFor(String policy, InferenceConfig.FlowControl configured) {
        return policy.equals("inference") ? configured : new InferenceConfig.FlowControl(configured.maxQueue(),
                configured.queueTimeout(), InferenceConfig.QueueOrder.FAIR_FIFO, configured.aging());
    }

    /** The fleet behind an inference policy, to publish metrics into; empty for other policies. */
    public static Optional<FleetState> fleet(LoadBalancer balancer) {
        return balancer instanceof InferencePolicy p ? Optional.of(p.fleet()) : Optional.empty();
    }
}
