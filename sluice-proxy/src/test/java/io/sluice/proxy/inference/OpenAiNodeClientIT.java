package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import io.sluice.sim.testing.NodeOpenAiClient;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The official {@code openai} Node client streams chat through Sluice ({@code policy: inference}) in front of two
 * {@code sluice sim} replicas, unchanged: chunks, text and usage as the simulator sent them, and Sluice's own 404 in
 * the shape the client reads. The test installs the client with npm into {@code target/openai-node} (as the
 * simulator's own Node test does); it is skipped, saying why, only when npm or node is not installed.
 */
class OpenAiNodeClientIT {

    @Test
    void officialNodeClientStreamsChatThroughSluice() throws Exception {
        NodeOpenAiClient client = NodeOpenAiClient.install(getClass(), "chat-through-sluice.mjs");
        try (SimServer sims = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withReplicas(2));
             RunningSluice sluice = RunningSluice.start("""
                     access_log: { path: off }
                     admin: { address: 127.0.0.1:0 }
                     listeners:
                       - name: web
                         address: 127.0.0.1:0
                         routes: [ { match: { path_prefix: /v1/ }, pool: llm } ]
                     pools:
                       - name: llm
                         policy: inference
                         inference: { models: [ llama-3-8b ] }
                         endpoints: [ { address: 127.0.0.1:%d }, { address: 127.0.0.1:%d } ]
                     """.formatted(sims.ports().get(0), sims.ports().get(1)))) {
            sluice.awaitReady();
            JsonNode out = client.run("chat-through-sluice.mjs", sluice.url("web") + "/v1");
            assertThat(out.path("streamChunks").asInt()).isEqualTo(9);
            assertThat(out.path("streamText").asString()).hasSize(36);
            assertThat(out.path("streamUsage").path("completion_tokens").asInt()).isEqualTo(9);
            assertThat(out.path("chatRole").asString()).isEqualTo("assistant");
            assertThat(out.path("chatContent").asString()).hasSize(20);
            assertThat(out.path("chatModel").asString()).isEqualTo("llama-3-8b");
            assertThat(out.path("notFound").asInt()).isEqualTo(404);
            assertThat(out.path("notFoundMessage").asString()).contains("'nope'", "llama-3-8b");
            assertThat(sluice.metric("sluice_inference_time_to_first_token_seconds_count", "pool=\"llm\"",
                    "model=\"llama-3-8b\"")).isEqualTo(2);
            assertThat(sluice.metric("sluice_inference_tokens_total", "pool=\"llm\"", "kind=\"completion\""))
                    .isEqualTo(14);
        }
    }
}
