package io.sluice.bench.inference;

import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.inference.FleetState;
import io.sluice.inference.InferenceExchange;
import io.sluice.inference.InferencePolicies;
import io.sluice.inference.InferenceRequest;
import io.sluice.inference.PromptHasher;
import io.sluice.inference.ServerMetrics;
import io.sluice.time.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
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
 * One scheduling decision of an inference policy at 256 endpoints whose prefix index is full: every endpoint
 * remembers as many blocks as its capacity allows (32,768 for {@code inference}, 8.4 M (block, endpoint) pairs in
 * all), filled by routing shared-prefix traffic through the policy itself.
 *
 * <p>The measured operation is what the data plane does per request: {@code pool.select} with an
 * {@link InferenceExchange} attached (filters, prefix lookup, cost and scores for all 256 endpoints, booking into
 * the index, which evicts), then the first-token and end feedback. Requests are 64 blocks of one of 128 shared
 * system prompts followed by unique blocks, so each lookup matches several holders at two depths and each booking
 * inserts new blocks. {@code promptTokens} 2,048 is a typical chat prompt; 55,000 is the 220 KB prompt of the
 * overhead test (3,437 blocks, all indexed). Run: {@code java -jar sluice-bench/target/benchmarks.jar
 * SchedulingDecisionBenchmark}; the p99 is in the SampleTime percentiles.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Xms3g", "-Xmx3g"})
public class SchedulingDecisionBenchmark {

    private static final int ENDPOINTS = 256;
    private static final int GROUPS = 128;
    private static final int SHARED_BLOCKS = 64;
    private static final int REQUESTS = 4096;

    @Param({"inference", "llm-d", "sglang-cache-aware"})
    public String policy;

    @Param({"2048", "55000"})
    public int promptTokens;

    private Pool pool;
    private FleetState fleet;
    private ManualClock clock;
    private InferenceRequest[] requests;
    private final PickContext ctx = new PickContext();
    private long unique = 1L << 40;
    private int next;

    @Setup(Level.Trial)
    public void setUp() {
        clock = ManualClock.start();
        InferenceConfig config = InferenceConfig.defaults();
        fleet = InferencePolicies.fleetFor(policy, config, clock);
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < ENDPOINTS; i++) {
            endpoints.add(Endpoint.of(new Address("10.0." + (i / 250) + "." + (i % 250 + 1), 8000)));
        }
        SplittableRandom seed = new SplittableRandom(42);
        pool = Pool.of("bench", InferencePolicies.of(policy, fleet, seed::split), EndpointSet.Options.DEFAULT,
                clock, false, endpoints, Optional.empty());
        SplittableRandom rnd = new SplittableRandom(7);
        for (Member m : pool.members()) {
            fleet.publish(m.address(), new ServerMetrics(0, 30, 0.3, 0, 16, Set.of(), 0, clock.nanoTime()));
        }
        requests = new InferenceRequest[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            requests[i] = request(rnd.nextInt(GROUPS), promptTokens);
        }
        // Fill: route traffic until every endpoint's index holds 30,000 blocks (the capacity of inference and
        // llm-d; the SGLang tree could hold 262,144, which would need 2.7 GB here). Responses come back in batches,
        // so backlogs build up and the policy spreads the traffic over all endpoints.
        List<InferenceExchange> outstanding = new ArrayList<>();
        int rounds = 0;
        while (!full() && rounds++ < 400_000) {
            InferenceExchange x = InferenceExchange.of(request(rnd.nextInt(GROUPS), 8192));
            pool.select(ctx.reset().attach(x));
            outstanding.add(x);
            if (outstanding.size() == 2048) {
                for (InferenceExchange o : outstanding) {
                    o.firstToken(clock.nanoTime());
                    o.finished(clock.nanoTime());
                }
                outstanding.clear();
            }
        }
        for (InferenceExchange o : outstanding) {
            o.finished(clock.nanoTime());
        }
        // Then a fleet that is not uniform: queues, batches and KV use differ per endpoint.
        for (Member m : pool.members()) {
            fleet.publish(m.address(), new ServerMetrics(rnd.nextInt(3), rnd.nextInt(20, 60),
                    rnd.nextDouble(0.2, 0.7), 0, 16, Set.of(), 0, clock.nanoTime()));
        }
        if (!full()) {
            int min = Integer.MAX_VALUE;
            int max = 0;
            int zero = 0;
            for (Member m : pool.members()) {
                int b = fleet.indexedBlocks(m.address());
                min = Math.min(min, b);
                max = Math.max(max, b);
                zero += b == 0 ? 1 : 0;
            }
            throw new IllegalStateException("the index did not fill in " + rounds + " decisions: " + min + ".." + max
                    + " blocks, " + zero + " empty");
        }
    }

    private boolean full() {
        for (Member m : pool.members()) {
            if (fleet.indexedBlocks(m.address()) < 30_000) {
                return false;
            }
        }
        return true;
    }

    private InferenceRequest request(int group, int tokens) {
        int blocks = tokens / PromptHasher.TOKENS_PER_BLOCK;
        long[] h = new long[blocks];
        long prev = 0;
        long own = unique++;
        for (int b = 0; b < blocks; b++) {
            prev = PromptHasher.nextSynthetic(prev, b < SHARED_BLOCKS ? group * 1_000_000L + b : own * 100_003L + b);
            h[b] = prev;
        }
        return new InferenceRequest("m", Optional.empty(), h, tokens, 256, Optional.empty(), 0, "t", 0, true);
    }

    private Member decide(InferenceRequest r) {
        InferenceExchange x = InferenceExchange.of(r);
        Member m = pool.select(ctx.reset().attach(x));
        long now = clock.nanoTime();
        x.firstToken(now);
        x.finished(now);
        return m;
    }

    @Benchmark
    public Member decision() {
        InferenceRequest r = requests[next];
        next = (next + 1) & (REQUESTS - 1);
        return decide(r);
    }
}
