package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class InferenceConfigTest {

    private static String yaml(String inference) {
        return """
                listeners:
                  - name: public
                    address: 127.0.0.1:8080
                    routes: [ { match: { path_prefix: / }, pool: llm } ]
                pools:
                  - name: llm
                    policy: inference
                    endpoints: [ { address: 127.0.0.1:8001 } ]
                    inference:
                """ + inference.indent(6);
    }

    private static InferenceConfig read(String inference) throws ConfigException {
        return SluiceConfig.parse(yaml(inference), "test.yaml", Path.of(".")).pools().get(0).inference()
                .orElseThrow();
    }

    private static List<String> errors(String inference) {
        try {
            read(inference);
        } catch (ConfigException e) {
            return e.errors().stream().map(ConfigError::toString).toList();
        }
        throw new AssertionError("the config was accepted");
    }

    @Test
    void defaultsApplyToAnEmptyBlock() throws ConfigException {
        InferenceConfig c = read("{}");
        assertThat(c).isEqualTo(InferenceConfig.defaults());
        assertThat(c.scorers()).containsEntry("estimated_ttft", 4).containsEntry("prefix", 2);
        assertThat(c.saturation()).isEqualTo(new InferenceConfig.Saturation(5, 0.8, Duration.ofMillis(500)));
        assertThat(c.flowControl().aging()).isEqualTo(0.03);
        assertThat(c.maxBodyBytes()).isEqualTo(8L << 20);
    }

    @Test
    void everyKnobReads() throws ConfigException {
        InferenceConfig c = read("""
                engine: sglang
                metrics: { path: /stats, interval: 200ms, stale_after: 1s }
                models: [ llama-3-8b-v1, llama-3-8b-v2 ]
                aliases: { llama3: llama-3-8b }
                rewrites:
                  - { model: llama-3-8b, targets: { llama-3-8b-v1: 90, llama-3-8b-v2: 10 } }
                scorers: { estimated_ttft: 5, prefix: 1 }
                saturation: { queue: 8, kv_cache: 0.9, prefill_backlog: 1500ms }
                load_guard: { tolerance: 0.2, kv_penalty: 0.5, prefill_tokens_per_second: 20000, recompute_weight: 2 }
                prefix_index: { capacity_blocks: 1000, max_blocks: 512 }
                headers: { session: X-Conv, slo_ttft: x-ttft }
                priorities: { gold: 5, bronze: -2 }
                flow_control: { max_queue: 50, queue_timeout: 5s, order: shortest-first, aging: 0.5 }
                max_body_bytes: 1MiB
                """);
        assertThat(c.engine()).isEqualTo(InferenceConfig.Engine.SGLANG);
        assertThat(c.metrics()).isEqualTo(new InferenceConfig.Metrics("/stats", Duration.ofMillis(200),
                Duration.ofSeconds(1)));
        assertThat(c.aliases()).containsEntry("llama3", "llama-3-8b");
        assertThat(c.rewrites()).hasSize(1);
        assertThat(c.rewrites().get(0).targets()).containsExactly(Map.entry("llama-3-8b-v1", 90),
                Map.entry("llama-3-8b-v2", 10));
        assertThat(c.scorers()).isEqualTo(Map.of("estimated_ttft", 5, "prefix", 1));
        assertThat(c.saturation()).isEqualTo(new InferenceConfig.Saturation(8, 0.9, Duration.ofMillis(1500)));
        assertThat(c.loadGuard()).isEqualTo(new InferenceConfig.LoadGuard(0.2, 0.5, 20000, 2));
        assertThat(c.prefixIndex()).isEqualTo(new InferenceConfig.PrefixIndex(1000, 512));
        assertThat(c.headers().session()).isEqualTo("x-conv");
        assertThat(c.headers().sloTtft()).isEqualTo("x-ttft");
        assertThat(c.priorities()).isEqualTo(Map.of("gold", 5, "bronze", -2));
        assertThat(c.flowControl()).isEqualTo(new InferenceConfig.FlowControl(50, Duration.ofSeconds(5),
                InferenceConfig.QueueOrder.SHORTEST_FIRST, 0.5));
        assertThat(c.maxBodyBytes()).isEqualTo(1L << 20);
    }

    @Test
    void mistakesAreReportedWithTheirPaths() {
        assertThat(errors("""
                scorers: { prefix: 3, magic: 2 }
                aliases: { a: b, b: c }
                rewrites:
                  - { model: m, targets: { m: 1 } }
                  - { model: a, targets: {} }
                saturation: { kv_cache: 1.5, prefill_backlog: 5ms }
                load_guard: { tolrance: 0.2 }
                metrics: { interval: 1s, stale_after: 500ms }
                headers: { tenant: "bad header" }
                flow_control: { order: sjf, aging: 0 }
                """)).contains(
                "pools[0].inference.flow_control.order: 'sjf' is not one of fair-fifo, shortest-first",
                "pools[0].inference.flow_control.aging: 0 is out of range (0.001-1000)",
                "pools[0].inference.scorers.magic: unknown scorer (known: estimated_ttft, prefix, queue, kv_cache, "
                        + "lora, session)",
                "pools[0].inference.aliases.a: 'b' is itself an alias; name the model",
                "pools[0].inference.rewrites[0].targets.m: a model cannot be rewritten to itself",
                "pools[0].inference.rewrites[1].targets: needs at least one target with a weight above 0",
                "pools[0].inference.rewrites[1].model: 'a' is also an alias; use one or the other",
                "pools[0].inference.saturation.kv_cache: 1.5 is out of range (0.05-1)",
                "pools[0].inference.saturation.prefill_backlog: 5ms is out of range (10ms-10m)",
                "pools[0].inference.metrics.stale_after: 500ms must be longer than the scrape interval 1s",
                "pools[0].inference.headers.tenant: 'bad header' is not a valid header name");
        assertThat(errors("load_guard: { recompute_weight: 150 }"))
                .contains("pools[0].inference.load_guard.recompute_weight: 150 is out of range (0-100)");
        assertThat(errors("load_guard: { tolrance: 0.2 }"))
                .anyMatch(e -> e.startsWith("pools[0].inference.load_guard.tolrance: unknown key (did you mean "
                        + "'tolerance'?)"));
    }

    @Test
    void baselinePoliciesAcceptTheInferenceBlock() throws ConfigException {
        String text = yaml("{}").replace("policy: inference", "policy: llm-d");
        assertThat(SluiceConfig.parse(text, "t", Path.of(".")).pools().get(0).inference()).isPresent();
        assertThatThrownBy(() -> SluiceConfig.parse(yaml("{}").replace("policy: inference",
                "policy: round-robin"), "t", Path.of("."))).isInstanceOf(ConfigException.class)
                .hasMessageContaining("pools[0].inference: inference settings need policy");
    }
}
