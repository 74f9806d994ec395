package io.sluice.sim.testing;

import static org.assertj.core.api.Assertions.assertThat;

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
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The official {@code openai} Node client for integration tests: installed with npm into {@code target/openai-node}
 * of the module under test (once; later runs reuse it), and a test script from the test's resources run against a
 * base URL. The test is skipped, saying why, only when npm or node is not on the PATH.
 */
public final class NodeOpenAiClient {

    private final Path dir;

    private NodeOpenAiClient(Path dir) {
        this.dir = dir;
    }

    /**
     * Installs the client (unless already there) and copies the script {@code /openai-node/<script>} from the
     * caller's test resources next to it.
     */
    public static NodeOpenAiClient install(Class<?> caller, String script) throws IOException, InterruptedException {
        Assumptions.assumeTrue(onPath("npm") && onPath("node"),
                "npm/node not found on PATH: skipping the OpenAI Node client check");
        Path dir = Path.of("target", "openai-node").toAbsolutePath();
        Files.createDirectories(dir);
        try (InputStream in = caller.getResourceAsStream("/openai-node/" + script)) {
            assertThat(in).as("test resource /openai-node/" + script).isNotNull();
            Files.copy(in, dir.resolve(script), StandardCopyOption.REPLACE_EXISTING);
        }
        if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
            Files.writeString(dir.resolve("package.json"), "{\"name\":\"openai-node-check\",\"private\":true}\n");
            Result install = run(dir, 300, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                    "openai@^7");
            assertThat(install.code()).as("npm install openai: " + install.output()).isZero();
        }
        return new NodeOpenAiClient(dir);
    }

    /**
     * Runs {@code node <script> <baseUrl>} (at most two minutes) and returns the JSON object the script prints on
     * its last line; fails the test with the script's output if it exits with an error.
     */
    public JsonNode run(String script, String baseUrl) throws IOException, InterruptedException {
        Result r = run(dir, 120, "node", script, baseUrl);
        assertThat(r.code()).as(r.output()).isZero();
        String last = r.output().strip().lines().reduce((a, b) -> b).orElse("");
        return JsonMapper.builder().build().readTree(last);
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
