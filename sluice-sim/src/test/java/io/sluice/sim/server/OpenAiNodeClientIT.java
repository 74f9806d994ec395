package io.sluice.sim.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.sim.engine.Profile;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The official {@code openai} Node client against {@code sluice sim}: completions, chat, streaming with usage,
 * errors. The test installs the client with npm into {@code target/openai-node}; it is skipped, saying why, only
 * when npm is not installed.
 */
class OpenAiNodeClientIT {

    @Test
    void officialNodeClientWorksAgainstTheSimulator() throws Exception {
        Assumptions.assumeTrue(onPath("npm") && onPath("node"),
                "npm/node not found on PATH: skipping the OpenAI Node client check");
        Path dir = Path.of("target", "openai-node").toAbsolutePath();
        Files.createDirectories(dir);
        try (InputStream script = getClass().getResourceAsStream("/openai-node/client-check.mjs")) {
            Files.copy(script, dir.resolve("client-check.mjs"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
            Files.writeString(dir.resolve("package.json"), "{\"name\":\"openai-node-check\",\"private\":true}\n");
            Result install = run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                    "openai@^7");
            assertThat(install.code).as("npm install openai: " + install.output).isZero();
        }
        try (SimServer server = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")))) {
            Result r = run(dir, 120, "node", "client-check.mjs", "http://127.0.0.1:" + server.ports().get(0) + "/v1");
            assertThat(r.code).as(r.output).isZero();
            String last = r.output.strip().lines().reduce((a, b) -> b).orElse("");
            JsonNode out = JsonMapper.builder().build().readTree(last);
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
