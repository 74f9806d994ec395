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
                      metrics: { interval: 20ms, stale_after: 1s }
                """ + extra, endpoints);
    }

    /**
     * Runs the shared-prefix workload and returns the fleet's prefix-cache hit ratio as the simulators counted it:
     * 240 requests made of one of four long system prompts (2,048 tokens each) and a short user question, in random
     * order, one at a time; each replica's KV cache holds a little more than one of the prompts. (Two at a time
     * on a loaded machine, where scrapes arrive late, the load guard now and then sends a prompt to a second
     * server and the two small caches thrash; the spill-over itself is the next test's subject.)
     */
    private static double sharedPrefixHitRatio(String policy) {
        try (SimServer sims = SimServer.start(SimOptions.of(smallCache()).withReplicas(4));
             // One 2,048-token prompt fills 85 % of these tiny caches while it runs, above the default KV
             // saturation of 80 %: a scrape taken mid-request would mark the holder saturated and send the next
             // request elsewhere, which is the spill-over of the next test, not what this one measures.
             RunningSluice sluice = RunningSluice.start(config(policy, sims.ports(),
                     "      saturation: { kv_cache: 0.95 }\n"))) {
            sluice.awaitReady();
            awaitFreshMetrics(sluice, policy);
            String[] systems = new String[4];
            for (int i = 0; i < systems.length; i++) {
                systems[i] = text(i, 8192);
            }
            int[] prompt = new Random(7).ints(240, 0, systems.length).toArray();
            List<HttpResponse<String>> responses = SimCluster.run(prompt.length, 1,
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

    @Test
    void aSharedPrefixStaysOnItsHolderUntilItSaturatesThenSpreads() {
        try (SimServer sims = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b").withMaxNumSeqs(2))
                .withReplicas(4));
             RunningSluice sluice = RunningSluice.start(config("inference", sims.ports(), ""))) {
            sluice.awaitReady();
            awaitFreshMetrics(sluice, "inference");
            String system = text(42, 8192);
            String url = sluice.url("web") + "/v1/chat/completions";
            List<HttpResponse<String>> sequential = SimCluster.run(8, 1,
                    i -> post(url, chat(MODEL, system, "one at a time " + i, 2, false)));
            assertThat(sequential).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
            double[] before = perEndpoint(sluice, sims.ports());
            assertThat(java.util.Arrays.stream(before).filter(n -> n > 0).count())
                    .as("one endpoint holds the prefix and takes every request").isEqualTo(1);
            List<HttpResponse<String>> burst = SimCluster.run(32, 32,
                    i -> post(url, chat(MODEL, system, "all at once " + i, 200, false)));
            assertThat(burst).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
            double[] after = perEndpoint(sluice, sims.ports());
            int holder = 0;
            for (int i = 0; i < before.length; i++) {
                holder = before[i] > 0 ? i : holder;
            }
            long spread = 0;
            for (int i = 0; i < after.length; i++) {
                spread += i != holder && after[i] > before[i] ? 1 : 0;
            }
            System.out.println("burst per endpoint: " + java.util.Arrays.toString(after));
            assertThat(spread).as("the burst spills over to other endpoints").isGreaterThanOrEqualTo(1);
            assertThat(after[holder] - before[holder]).as("the holder took part of the burst, not all of it")
                    .isBetween(1.0, 31.0);
        }
    }

    private static double[] perEndpoint(RunningSluice sluice, List<Integer> ports) {
        double[] out = new double[ports.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + ports.get(i) + "\"");
        }
        return out;
    }

    @Test
    void modelsAndAdaptersGoOnlyWhereTheyAreServedAndErrorsNeverReachABackend() {
        try (SimServer llama = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withReplicas(2)
                .withAdapters(List.of("sql-lora")));
             SimServer qwen = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withModel("qwen-7b"));
             io.sluice.proxy.testing.DeadPort dead = io.sluice.proxy.testing.DeadPort.reserve()) {
            int l0 = llama.ports().get(0);
            int l1 = llama.ports().get(1);
            int q0 = qwen.ports().get(0);
            String yaml = """
                    access_log: { path: off }
                    admin: { address: 127.0.0.1:0 }
                    listeners:
                      - name: web
                        address: 127.0.0.1:0
                        routes:
                          - { match: { path_prefix: /, headers: { x-pool: small } }, pool: small }
                          - { match: { path_prefix: /, headers: { x-pool: auto } }, pool: auto }
                          - { match: { path_prefix: /, headers: { x-pool: gone } }, pool: gone }
                          - { match: { path_prefix: / }, pool: llm }
                    pools:
                      - name: llm
                        policy: inference
                        inference:
                          metrics: { interval: 20ms, stale_after: 1s }
                          aliases: { llama3: llama-3-8b }
                          rewrites: [ { model: canary, targets: { llama-3-8b: 50, qwen-7b: 50 } } ]
                        endpoints:
                          - { address: 127.0.0.1:%1$d, models: [ llama-3-8b ], adapters: [ sql-lora ] }
                          - { address: 127.0.0.1:%2$d, models: [ llama-3-8b ], adapters: [ sql-lora ] }
                          - { address: 127.0.0.1:%3$d, models: [ qwen-7b ] }
                      - name: auto
                        policy: inference
                        inference: { metrics: { interval: 20ms, stale_after: 1s } }
                        endpoints: [ { address: 127.0.0.1:%1$d }, { address: 127.0.0.1:%3$d } ]
                      - name: small
                        policy: inference
                        inference: { max_body_bytes: 2KiB }
                        endpoints: [ { address: 127.0.0.1:%1$d } ]
                      - name: gone
                        policy: inference
                        retries: { attempts: 1 }
                        endpoints: [ { address: %4$s } ]
                    """.formatted(l0, l1, q0, dead.address());
            try (RunningSluice sluice = RunningSluice.start(yaml)) {
                sluice.awaitReady();
                String url = sluice.url("web") + "/v1/chat/completions";
                for (String model : List.of("llama-3-8b", "llama3", "sql-lora")) {
                    SimCluster.run(6, 3, i -> post(url, chat(model, "sys", model + " " + i, 2, i % 2 == 0)))
                            .forEach(r -> assertThat(r.statusCode()).as(model + ": " + r.body()).isEqualTo(200));
                }
                assertThat(sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + q0 + "\""))
                        .as("no llama or LoRA request reached the qwen server").isZero();
                SimCluster.run(6, 3, i -> post(url, chat("qwen-7b", "sys", "q " + i, 2, false)))
                        .forEach(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
                // The counters are updated as each exchange ends, which may be just after its client has read it.
                Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                        .untilAsserted(() -> {
                            assertThat(sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + q0 + "\""))
                                    .isEqualTo(6);
                            assertThat(sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + l0 + "\"")
                                    + sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + l1 + "\""))
                                    .isEqualTo(18);
                        });
                SimCluster.run(40, 4, i -> post(url, chat("canary", "sys", "c " + i, 2, false)))
                        .forEach(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
                Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10)).until(() ->
                        sluice.metric("sluice_requests_total", "pool=\"llm\"", "code=\"200\"") == 18 + 6 + 40);
                double toQwen = sluice.metric("sluice_requests_total", "endpoint=\"127.0.0.1:" + q0 + "\"") - 6;
                assertThat(toQwen).as("the weighted rewrite splits the canary name").isBetween(8.0, 32.0);

                double queries = metric(List.of(l0, l1, q0), "vllm:prefix_cache_queries_total");
                double queriesL0 = metric(l0, "vllm:prefix_cache_queries_total");
                double before = sluice.metric("sluice_requests_total", "pool=\"llm\"", "code=\"200\"");
                HttpResponse<String> unknown = SimCluster.send(post(url, chat("gpt-5", "sys", "hi", 2, false)));
                assertThat(unknown.statusCode()).isEqualTo(404);
                assertThat(unknown.headers().firstValue("content-type")).contains("application/json");
                assertThat(unknown.body()).contains("\"error\":{\"message\":\"The model 'gpt-5' does not exist",
                        "llama-3-8b", "qwen-7b", "sql-lora", "llama3", "\"code\":\"model_not_found\"");
                HttpResponse<String> malformed = SimCluster.send(post(url, "{\"model\": \"llama-3-8b\", \"mess"));
                assertThat(malformed.statusCode()).isEqualTo(400);
                assertThat(malformed.body()).startsWith("{\"error\":{\"message\":\"the request body is not valid JSON")
                        .contains("\"type\":\"invalid_request_error\"", "\"param\":null");
                HttpResponse<String> noMessages = SimCluster.send(post(url, "{\"model\":\"llama-3-8b\"}"));
                assertThat(noMessages.statusCode()).isEqualTo(400);
                assertThat(noMessages.body()).contains("\"param\":\"messages\"");
                HttpResponse<String> large = SimCluster.send(post(url, chat("llama-3-8b", text(1, 4096), "hi", 2,
                        false), "x-pool", "small"));
                assertThat(large.statusCode()).isEqualTo(413);
                assertThat(large.body()).contains("\"code\":\"request_too_large\"", "2048 bytes");
                HttpResponse<String> fits = SimCluster.send(post(url, chat("llama-3-8b", "s", "hi", 2, false),
                        "x-pool", "small"));
                assertThat(fits.statusCode()).isEqualTo(200);
                assertThat(sluice.metric("sluice_requests_total", "pool=\"llm\"", "code=\"200\"")).isEqualTo(before);
                assertThat(metric(l0, "vllm:prefix_cache_queries_total")).isGreaterThan(queriesL0);
                assertThat(metric(List.of(l0, l1, q0), "vllm:prefix_cache_queries_total") - queries)
                        .as("only the request that fits reached a backend")
                        .isEqualTo(metric(l0, "vllm:prefix_cache_queries_total") - queriesL0);

                // Sluice's other errors on an OpenAI route are in OpenAI's shape too.
                HttpResponse<String> refused = SimCluster.send(post(url, chat("m", "s", "x", 2, false),
                        "x-pool", "gone"));
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(refused.body()).startsWith("{\"error\":{\"message\":\"upstream connect refused")
                        .contains("\"type\":\"server_error\"", "\"code\":\"connect_failed\"");

                // A pool that names no model learns them from each endpoint's GET /v1/models.
                InferencePool auto = sluice.server().runtime().pool("auto").orElseThrow().inference().orElseThrow();
                Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                        .until(() -> auto.models().servedNames(java.util.Set.of()).containsAll(
                                List.of("llama-3-8b", "qwen-7b")));
                SimCluster.run(6, 3, i -> post(url, chat("qwen-7b", "sys", "auto " + i, 2, false), "x-pool", "auto"))
                        .forEach(r -> assertThat(r.statusCode()).as(r.body()).isEqualTo(200));
                assertThat(sluice.metric("sluice_requests_total", "pool=\"auto\"",
                        "endpoint=\"127.0.0.1:" + l0 + "\"")).isZero();
                assertThat(SimCluster.send(post(url, chat("nope", "s", "x", 2, false), "x-pool", "auto"))
                        .statusCode()).isEqualTo(404);
            }
        }
    }
}
