package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Endpoint;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ModelRouterTest {

    private static InferenceConfig config(List<String> models, Map<String, String> aliases,
                                          List<InferenceConfig.Rewrite> rewrites) {
        InferenceConfig d = InferenceConfig.defaults();
        return new InferenceConfig(d.engine(), d.metrics(), models, aliases, rewrites, d.scorers(), d.saturation(),
                d.loadGuard(), d.prefixIndex(), d.headers(), d.priorities(), d.flowControl(), d.maxBodyBytes());
    }

    private static Map<String, Integer> weights(String a, int wa, String b, int wb) {
        Map<String, Integer> m = new LinkedHashMap<>();
        m.put(a, wa);
        m.put(b, wb);
        return m;
    }

    @Test
    void aliasesAndServedModelsResolve() {
        ModelRouter r = ModelRouter.of(config(List.of("llama-3-8b"), Map.of("llama3", "llama-3-8b"), List.of()),
                List.of());
        SplittableRandom rnd = new SplittableRandom(1);
        assertThat(r.resolve("llama-3-8b", rnd, Set.of())).contains(new ModelRouter.Route("llama-3-8b",
                Optional.empty()));
        assertThat(r.resolve("llama3", rnd, Set.of()).map(ModelRouter.Route::model)).contains("llama-3-8b");
        assertThat(r.resolve("gpt-4", rnd, Set.of())).isEmpty();
        assertThat(r.servedNames(Set.of())).containsExactly("llama-3-8b", "llama3");
    }

    @Test
    void weightedRewriteSplitsNinetyTen() {
        ModelRouter r = ModelRouter.of(config(List.of("llama-3-8b-v1", "llama-3-8b-v2"), Map.of(), List.of(
                new InferenceConfig.Rewrite("llama-3-8b", weights("llama-3-8b-v1", 90, "llama-3-8b-v2", 10)))),
                List.of());
        SplittableRandom rnd = new SplittableRandom(7);
        int v2 = 0;
        for (int i = 0; i < 10_000; i++) {
            if (r.resolve("llama-3-8b", rnd, Set.of()).orElseThrow().model().equals("llama-3-8b-v2")) {
                v2++;
            }
        }
        assertThat(v2).isBetween(900, 1100);
        assertThat(r.servedNames(Set.of())).contains("llama-3-8b", "llama-3-8b-v1", "llama-3-8b-v2");
    }

    @Test
    void adaptersRideOnTheBaseModel() {
        List<Endpoint> eps = List.of(Fleet.labelled(0, Map.of("models", "llama-3-8b", "adapters", "sql-lora")));
        ModelRouter r = ModelRouter.of(config(List.of(), Map.of(), List.of()), eps);
        SplittableRandom rnd = new SplittableRandom(1);
        assertThat(r.resolve("sql-lora", rnd, Set.of())).contains(new ModelRouter.Route("llama-3-8b",
                Optional.of("sql-lora")));
        assertThat(r.resolve("chat-lora", rnd, Set.of("chat-lora")).flatMap(ModelRouter.Route::adapter))
                .contains("chat-lora");
        assertThat(r.resolve("other", rnd, Set.of())).isEmpty();
        assertThat(r.servedNames(Set.of("chat-lora"))).containsExactly("llama-3-8b", "sql-lora", "chat-lora");
    }

    @Test
    void aPoolThatNamesNoModelServesAnything() {
        ModelRouter r = ModelRouter.of(config(List.of(), Map.of(), List.of()), List.of());
        assertThat(r.restricted()).isFalse();
        assertThat(r.resolve("whatever", new SplittableRandom(1), Set.of()).map(ModelRouter.Route::model))
                .contains("whatever");
    }
}
