package io.sluice.proxy.inference;

import static io.sluice.proxy.inference.SimCluster.chat;
import static io.sluice.proxy.inference.SimCluster.metric;
import static io.sluice.proxy.inference.SimCluster.post;
import static io.sluice.proxy.inference.SimCluster.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * {@code policy: inference} through the real proxy in front of real {@code sluice sim} replicas: prefix-cache
 * affinity (measured by the simulators' own prefix-cache counters) against round-robin, spreading when the prefix
 * holder saturates, model and LoRA routing, and the OpenAI-shaped errors that never reach a backend.
 */
class InferenceRoutingIT {

    private static final String MODEL = "llama-3-8b";

    /** Each replica's KV cache (150 blocks) holds one of the four system prompts (128 blocks each). */
    private static Profile smallCache() {
        return Profile.of("h100-llama3-8b").withKvBlocks(150);
    }

    private static String config(String policy, List<Integer> ports, String extra) {
        String endpoints = ports.stream().map(p -> "{ address: 127.0.0.1:" + p + " }")
                .collect(Collectors.joining(", "));
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: / }, pool: llm }
                pools:
                  - name: llm
                    policy: %s
                %s
                    endpoints: [ %s ]
                """.formatted(policy, policy.equals("round-robin") ? "" : """
                    inference:
                      metrics: { interval: 20ms, stale_after: 200ms }
                """ + extra, endpoints);
    }

    /**
     * Runs the shared-prefix workload and returns the fleet's prefix-cache hit ratio as the simulators counted it:
     * requests made of one of a few long system prompts (2,048 tokens each) and a short user question, in random
     * order, two at a time; each replica's KV cache holds a little more than one of the prompts.
     */
    private static double sharedPrefixHitRatio(String policy) {
        try (SimServer sims = SimServer.start(SimOptions.of(smallCache()).withReplicas(4));
             RunningSluice sluice = RunningSluice.start(config(policy, sims.ports(), ""))) {
            sluice.awaitReady();
            awaitFreshMetrics(sluice, policy);
            String[] systems = new String[4];
            for (int i = 0; i < systems.length; i++) {
                systems[i] = text(i, 8192);
            }
            int[] prompt = new Random(7).ints(160, 0, systems.length).toArray();
            List<HttpResponse<String>> responses = SimCluster.run(prompt.length, 2,
                    i -> post(sluice.url("web") + "/v1/chat/completions",
                            chat(MODEL, systems[prompt[i]], "question " + i, 4, i % 2 == 0)));
            assertThat(responses).allSatisfy(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
            double hits = metric(sims.ports(), "vllm:prefix_cache_hits_total");
            double queries = metric(sims.ports(), "vllm:prefix_cache_queries_total");
            assertThat(queries).isGreaterThan(prompt.length * 2048.0);
            return hits / queries;
        }
    }

    private static void awaitFreshMetrics(RunningSluice sluice, String policy) {
        if (!policy.equals("round-robin")) {
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() ->
                    sluice.metric("sluice_inference_endpoint_metrics_fresh", "pool=\"llm\"") == 4);
        }
    }

    @Test
    void sharedPrefixesHitTheCacheAtLeastThreeTimesAsOftenAsRoundRobin() {
        double roundRobin = sharedPrefixHitRatio("round-robin");
        double inference = sharedPrefixHitRatio("inference");
        System.out.printf("prefix-cache hit ratio: round-robin %.3f, inference %.3f%n", roundRobin, inference);
        assertThat(inference).isGreaterThan(0.5).isGreaterThanOrEqualTo(3 * roundRobin);
    }
}
