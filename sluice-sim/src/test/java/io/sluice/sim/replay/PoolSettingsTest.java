package io.sluice.sim.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.ConfigException;
import io.sluice.sim.trace.Generator;
import io.sluice.sim.trace.LengthSampler;
import io.sluice.sim.trace.RequestStream;
import io.sluice.sim.trace.TraceRequest;
import io.sluice.sim.trace.Workload;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** {@code --pool-config}: an {@code inference:} block read by the config loader and applied to the replayed pools. */
class PoolSettingsTest {

    private static final Fleet ONE_A100 = Fleet.parse("1xa100-80g-llama3-8b");

    /** Independent requests with no shared prefix. */
    private static Supplier<RequestStream> poisson(double rate, int seconds, int prompt, int output) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(prompt, output), 0, 0,
                0, 1, Duration.ofSeconds(1), 0, 3);
        return () -> new Generator(w);
    }

    /** Poisson arrivals, one long prompt (6,000 tokens) for three short ones (400). */
    private static Supplier<RequestStream> mixed(double rate, int count) {
        return () -> new RequestStream() {
            private final SplittableRandom random = new SplittableRandom(4);
            private long at;
            private int n;

            @Override
            public boolean hasNext() {
                return n < count;
            }

            @Override
            public TraceRequest next() {
                at += (long) (-Math.log(1 - random.nextDouble()) / rate * 1e9);
                n++;
                return TraceRequest.of(at, n % 4 == 0 ? 6000 : 400, 50);
            }

            @Override
            public long skipped() {
                return 0;
            }

            @Override
            public String describe() {
                return "mixed";
            }

            @Override
            public void close() {
            }
        };
    }

    private static PoolSettings settings(String yaml) throws ConfigException {
        return PoolSettings.parse(yaml, "pools.yaml");
    }

    private static PolicyResult run(ReplayConfig c, Supplier<RequestStream> workload, String policy)
            throws Exception {
        return new Replay(c, workload).run("test").policies().stream().filter(p -> p.policy().equals(policy))
                .findFirst().orElseThrow();
    }

    @Test
    void aSmallCentralQueueAnswersWhereTheDefaultQueues() throws Exception {
        ReplayConfig c = ReplayConfig.of(ONE_A100, List.of("inference"));
        PolicyResult byDefault = run(c, poisson(12, 10, 3000, 120), "inference");
        assertThat(byDefault.queued()).isPositive();
        assertThat(byDefault.failures()).isEmpty();

        PolicyResult full = run(c.withPoolSettings(settings("inference:\n  flow_control: { max_queue: 1 }\n")),
                poisson(12, 10, 3000, 120), "inference");
        assertThat(full.failures().get("queue_full_503")).isPositive();
        assertThat(full.completed() + full.failed() + full.shed()).isEqualTo(full.requests());

        PolicyResult impatient = run(c.withPoolSettings(settings(
                "inference:\n  flow_control: { queue_timeout: 1s }\n")), poisson(12, 10, 3000, 120), "inference");
        assertThat(impatient.failures().get("queue_timeout_429")).isPositive();
        assertThat(impatient.completed()).isLessThan(byDefault.completed());
    }

    @Test
    void fairFifoOrderChangesTheInferenceQueueAndTheBaselineKeepsItsOwn() throws Exception {
        ReplayConfig c = ReplayConfig.of(ONE_A100, List.of("inference", "llm-d"));
        PoolSettings fifo = settings("inference:\n  flow_control:\n    order: fair-fifo\n");
        ReplayReport shortestFirst = new Replay(c, mixed(8, 200)).run("test");
        ReplayReport fairFifo = new Replay(c.withPoolSettings(fifo), mixed(8, 200)).run("test");
        PolicyResult sf = shortestFirst.policies().get(0);
        PolicyResult ff = fairFifo.policies().get(0);
        assertThat(sf.queued()).isPositive();
        assertThat(ff.queued()).isPositive();
        // Shortest-first lets the short prompts (three in four) pass the long ones; arrival order makes them wait.
        assertThat(PolicyResult.millis(sf.ttft(), 50)).isLessThan(PolicyResult.millis(ff.ttft(), 50) / 2);
        // llm-d queues first come, first served whatever flow_control.order says: the same run both times.
        Map<String, Object> llmdDefault = policyTree(shortestFirst, "llm-d");
        Map<String, Object> llmdFifo = policyTree(fairFifo, "llm-d");
        assertThat(llmdFifo.remove("pool_config_applied")).isEqualTo(true);
        assertThat(llmdDefault.remove("pool_config_applied")).isEqualTo(false);
        assertThat(llmdFifo).isEqualTo(llmdDefault);
        // The report says which settings were used, for a rerun.
        assertThat(ReportJson.tree(fairFifo).get("pool_config"))
                .isEqualTo(Map.of("inference", Map.of("flow_control", Map.of("order", "fair-fifo"))));
        assertThat(ReportJson.tree(shortestFirst).get("pool_config")).isEqualTo(Map.of());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> policyTree(ReplayReport report, String name) {
        for (Object p : (List<Object>) strip(ReportJson.tree(report)).get("policies")) {
            Map<String, Object> m = (Map<String, Object>) p;
            if (m.get("name").equals(name)) {
                return m;
            }
        }
        throw new AssertionError(name);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> strip(Map<String, Object> tree) {
        for (Object p : (List<Object>) tree.get("policies")) {
            ((Map<String, Object>) p).remove("wall_seconds");
            ((Map<String, Object>) p).remove("cpu_seconds");
        }
        return tree;
    }

    @Test
    void mistakesNameTheFileThePathAndTheValueAsTheConfigLoaderDoes() {
        assertThatThrownBy(() -> settings("inference:\n  saturation:\n    kv_cache: 1.5\n"))
                .isInstanceOf(ConfigException.class)
                .hasMessage("pools.yaml: 1 error\n  inference.saturation.kv_cache: 1.5 is out of range (0.05-1)");
        assertThatThrownBy(() -> settings("inference:\n  flow_control: { order: random, max_queue: -2 }\n"))
                .hasMessageContaining("pools.yaml: 2 errors")
                .hasMessageContaining("inference.flow_control.order: ")
                .hasMessageContaining("inference.flow_control.max_queue: -2 is out of range");
        assertThatThrownBy(() -> settings("inference:\n  scorers: { prefx: 2 }\n"))
                .hasMessageContaining("inference.scorers.prefx: unknown scorer");
        assertThatThrownBy(() -> settings("inference: 5\n")).hasMessageContaining("  inference: ");
        assertThatThrownBy(() -> settings("inferance:\n  saturation: { queue: 3 }\n"))
                .hasMessage("pools.yaml: 1 error\n  inferance: unknown key; known keys here: inference");
        assertThatThrownBy(() -> settings("- inference\n")).hasMessageContaining("expected a mapping");
        assertThatThrownBy(() -> settings("inference: { saturation: [\n"))
                .hasMessageContaining("pools.yaml: 1 error").hasMessageContaining("YAML syntax error");
    }

    @Test
    void theBlockGoesToThePoliciesThatTakeOne() throws Exception {
        PoolSettings s = settings("inference:\n  saturation: { queue: 2 }\n");
        assertThat(s.appliesTo("inference")).isTrue();
        assertThat(s.appliesTo("llm-d")).isTrue();
        assertThat(s.appliesTo("sglang-cache-aware")).isTrue();
        assertThat(s.appliesTo("round-robin")).isFalse();
        assertThat(PolicyRun.poolConfig("inference", ONE_A100.servers(), s).inference().orElseThrow().saturation()
                .queue()).isEqualTo(2);
        assertThat(PolicyRun.poolConfig("round-robin", ONE_A100.servers(), s).inference()).isEmpty();
        // A classic policy alone cannot use it: refused, naming the policy, before anything runs.
        assertThatThrownBy(() -> ReplayConfig.of(ONE_A100, List.of("round-robin")).withPoolSettings(s))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pools.yaml")
                .hasMessageContaining("round-robin takes no inference settings");
        assertThat(ReplayConfig.of(ONE_A100, List.of("round-robin", "inference")).withPoolSettings(s).poolSettings())
                .isSameAs(s);
        // An empty file, or an empty block, changes nothing.
        assertThat(settings("").hasInference()).isFalse();
        assertThat(settings("inference:\n").hasInference()).isFalse();
        assertThat(ReplayConfig.of(ONE_A100, List.of("round-robin")).withPoolSettings(settings("")).policies())
                .containsExactly("round-robin");
    }
}
