package io.sluice.bench;

import io.sluice.balance.Balancers;
import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.time.Clock;
import java.nio.file.Path;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one pick for every balancing policy at 8, 64 and 512 endpoints: {@code Pool.select} exactly as the
 * data plane calls it (a reused {@link PickContext}, a volatile read of the pool's selector, the policy's pick),
 * with the production random source ({@code ThreadLocalRandom}) and clock.
 *
 * <p>Endpoints carry some load (0-7 requests in flight, latencies of 1-20 ms) so that the load-aware policies
 * compare real numbers; hash policies get a different precomputed key per pick. Run with {@code -prof gc} to see
 * that picks allocate nothing. Command and results: docs/benchmarks.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class PolicyBenchmark {

    @Param({"round-robin", "weighted-round-robin", "random", "least-connections", "weighted-least-connections",
            "power-of-two", "least-response-time", "ip-hash", "ring-hash", "maglev", "consistent-hash-bounded",
            "sticky-cookie"})
    public String policy;

    @Param({"8", "64", "512"})
    public int endpoints;

    private Pool pool;
    private long[] keys;
    private long stickyId;

    @Setup(Level.Trial)
    public void setUp() throws ConfigException {
        PoolConfig config = config(policy, endpoints);
        pool = Pool.of("bench", Balancers.of(config, ThreadLocalRandom::current, Clock.system()),
                EndpointSet.Options.DEFAULT, Clock.system(), false, config.endpoints(), Optional.empty());
        SplittableRandom random = new SplittableRandom(42);
        long now = System.nanoTime();
        for (Member m : pool.members()) {
            for (int i = random.nextInt(8); i > 0; i--) {
                m.load().requestStarted();
            }
            m.load().recordLatency(now, 1_000_000L + random.nextInt(19_000_000), LoadStats.DEFAULT_DECAY_NANOS);
        }
        keys = random.longs(4096).toArray();
        if (policy.equals("sticky-cookie")) {
            var sticky = io.sluice.balance.StickySessions.of(config).orElseThrow();
            PickContext ctx = new PickContext();
            sticky.read(sticky.cookieValue(pool.members().get(endpoints / 2)), ctx);
            stickyId = ctx.affinity();
        }
    }

    /** One endpoint per distinct weight 1-4 (so weighted policies have work to do), all at one host. */
    static PoolConfig config(String policy, int endpoints) throws ConfigException {
        boolean sticky = policy.equals("sticky-cookie");
        StringBuilder yaml = new StringBuilder("listeners: []\npools:\n  - name: bench\n    policy: ")
                .append(sticky ? "round-robin" : policy).append('\n');
        if (sticky) {
            yaml.append("    sticky: { cookie: SLUICE }\n");
        }
        yaml.append("    endpoints:\n");
        for (int i = 0; i < endpoints; i++) {
            yaml.append("      - { address: \"10.1.").append(i / 250).append('.').append(i % 250 + 1)
                    .append(":8080\", weight: ").append(1 + i % 4).append(" }\n");
        }
        return SluiceConfig.parse(yaml.toString(), "bench", Path.of(".")).pools().get(0);
    }

    /** Per-thread request state, as each event loop has its own. */
    @State(Scope.Thread)
    public static class Request {
        final PickContext ctx = new PickContext();
        int next;
    }

    @Benchmark
    public Member pick(Request request) {
        PickContext ctx = request.ctx.reset().hash(keys[request.next++ & 4095]);
        if (stickyId != 0) {
            ctx.affinity(stickyId);
        }
        return pool.select(ctx);
    }
}
