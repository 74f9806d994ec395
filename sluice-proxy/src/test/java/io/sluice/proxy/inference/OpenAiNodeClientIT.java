package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The official {@code openai} Node client streams chat through Sluice ({@code policy: inference}) in front of two
 * {@code sluice sim} replicas, unchanged: chunks, text and usage as the simulator sent them, and Sluice's own 404 in
 * the shape the client reads. The test installs the client with npm into {@code target/openai-node} (as the
 * simulator's own Node test does); it is skipped, saying why, only when npm or node is not installed.
 */
class OpenAiNodeClientIT {

    @Test
    void officialNodeClientStreamsChatThroughSluice() throws Exception {
        Assumptions.assumeTrue(onPath("npm") && onPath("node"),
                "npm/node not found on PATH: skipping the OpenAI Node client check");
        Path dir = Path.of("target", "openai-node").toAbsolutePath();
        Files.createDirectories(dir);
        try (InputStream script = getClass().getResourceAsStream("/openai-node/chat-through-sluice.mjs")) {
            Files.copy(script, dir.resolve("chat-through-sluice.mjs"), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
            Files.writeString(dir.resolve("package.json"), "{\"name\":\"openai-node-check\",\"private\":true}\n");
            Result install = run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                    "openai@^7");
            assertThat(install.code).as("npm install openai: " + install.output).isZero();
        }
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
            Result r = run(dir, 120, "node", "chat-through-sluice.mjs", sluice.url("web") + "/v1");
            assertThat(r.code).as(r.output).isZero();
            String last = r.output.strip().lines().reduce((a, b) -> b).orElse("");
            JsonNode out = JsonMapper.builder().build().readTree(last);
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

    private record Result(int code, String output) {
    }

    private static Result run(Path dir, int timeoutSeconds, String... command) throws IOException,
            InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).directory(dir.toFile()).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, "timed out: " + String.join(" ", command));
        }
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String d : path.split(File.pathSeparator)) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }
}
