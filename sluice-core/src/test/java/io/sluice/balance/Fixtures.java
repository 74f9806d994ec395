package io.sluice.balance;

import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/** Pools, configs and counting helpers for the balancing tests. */
final class Fixtures {

    /**
     * Allocation a measured loop may show without a pick allocating: a one-off from deoptimisation or class
     * initialisation elsewhere in the JVM. One object per pick would be at least 16 bytes × 10,000.
     */
    static final long STRAY_ALLOCATION_BYTES = 1024;

    private Fixtures() {
    }

    /** A seeded random source that hands out the same generator every time (tests are single-threaded). */
    static Supplier<RandomGenerator> seeded(long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        return () -> random;
    }

    /** {@code 10.0.0.(i+1):8080} for each weight. */
    static List<Endpoint> endpoints(int... weights) {
        List<Endpoint> list = new ArrayList<>();
        for (int i = 0; i < weights.length; i++) {
            list.add(Endpoint.of(address(i), weights[i]));
        }
        return list;
    }

    /** The address of the i-th test endpoint. */
    static Address address(int i) {
        return new Address("10.0." + (i / 250) + "." + (i % 250 + 1), 8080);
    }

    /** A pool of endpoints at full weight (no slow start pending), no health checks. */
    static Pool pool(LoadBalancer balancer, ManualClock clock, int... weights) {
        return Pool.of("test", balancer, EndpointSet.Options.DEFAULT, clock, false, endpoints(weights),
                Optional.empty());
    }

    /** A pool with the given snapshot options. */
    static Pool pool(LoadBalancer balancer, ManualClock clock, EndpointSet.Options options, int... weights) {
        return Pool.of("test", balancer, options, clock, false, endpoints(weights), Optional.empty());
    }

    /** A pool of {@code n} endpoints of weight 1. */
    static Pool uniformPool(LoadBalancer balancer, ManualClock clock, int n) {
        int[] weights = new int[n];
        java.util.Arrays.fill(weights, 1);
        return pool(balancer, clock, weights);
    }

    /** A pool config from the YAML lines of one pool (indented under {@code pools:}). */
    static PoolConfig config(String poolYaml) {
        String yaml = "listeners: []\npools:\n  - " + poolYaml.strip().replace("\n", "\n    ") + "\n";
        try {
            return SluiceConfig.parse(yaml, "test.yaml", Path.of(".")).pools().get(0);
        } catch (ConfigException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    /** The config of a pool with the given policy and {@code n} endpoints of weight 1. */
    static PoolConfig config(String policy, int n) {
        StringBuilder sb = new StringBuilder("name: p\npolicy: " + policy + "\nendpoints:\n");
        for (int i = 0; i < n; i++) {
            sb.append("  - { address: \"").append(address(i)).append("\" }\n");
        }
        return config(sb.toString());
    }

    /** How many of {@code picks} requests without a key go to each member. */
    static Map<Member, Integer> count(Pool pool, int picks) {
        Map<Member, Integer> counts = new HashMap<>();
        PickContext ctx = new PickContext();
        for (int i = 0; i < picks; i++) {
            counts.merge(pool.select(ctx.reset()), 1, Integer::sum);
        }
        return counts;
    }

    /** The member of a pool at the i-th test address. */
    static Member member(Pool pool, int i) {
        return pool.member(address(i)).orElseThrow();
    }

    /** The key of the i-th synthetic request key. */
    static long key(int i) {
        return HashKeys.of("key-" + i);
    }

    /** The index i of a test endpoint's address {@code 10.0.x.y}. */
    static int addressIndex(Member m) {
        String[] parts = m.address().host().split("\\.");
        return Integer.parseInt(parts[2]) * 250 + Integer.parseInt(parts[3]) - 1;
    }

    /**
     * Bytes the current thread allocates while running {@code body} {@code times} times, after running it as many
     * times to let the JIT compile it (the measurement's own overhead is subtracted).
     */
    static long allocatedBytes(int times, Runnable body) {
        for (int i = 0; i < times * 5; i++) {
            body.run();
        }
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        long calibrate = threads.getCurrentThreadAllocatedBytes();
        long overhead = threads.getCurrentThreadAllocatedBytes() - calibrate;
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < times; i++) {
            body.run();
        }
        return threads.getCurrentThreadAllocatedBytes() - before - overhead;
    }
}
