package io.sluice.sim.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.sim.engine.Profile;
import io.sluice.sim.testing.NodeOpenAiClient;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

/**
 * The official {@code openai} Node client against {@code sluice sim}: completions, chat, streaming with usage,
 * errors. The test installs the client with npm into {@code target/openai-node}; it is skipped, saying why, only
 * when npm is not installed.
 */
class OpenAiNodeClientIT {

    @Test
    void officialNodeClientWorksAgainstTheSimulator() throws Exception {
        NodeOpenAiClient client = NodeOpenAiClient.install(getClass(), "client-check.mjs");
        try (SimServer server = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")))) {
            JsonNode out = client.run("client-check.mjs", "http://127.0.0.1:" + server.ports().get(0) + "/v1");
            assertThat(out.path("completionText").asString()).hasSize(28);
            assertThat(out.path("completionTokens").asInt()).isEqualTo(7);
            assertThat(out.path("chatRole").asString()).isEqualTo("assistant");
            assertThat(out.path("chatContent").asString()).hasSize(20);
            assertThat(out.path("streamChunks").asInt()).isEqualTo(9);
            assertThat(out.path("streamText").asString()).hasSize(36);
            assertThat(out.path("streamUsage").path("completion_tokens").asInt()).isEqualTo(9);
            assertThat(out.path("completionStreamText").asString()).hasSize(16);
            assertThat(out.path("notFound").asInt()).isEqualTo(404);
        }
    }
}
