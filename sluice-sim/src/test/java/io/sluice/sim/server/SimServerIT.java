package io.sluice.sim.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.sluice.sim.engine.Faults;
import io.sluice.sim.engine.Profile;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class SimServerIT {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static SimServer server;
    private static String base;

    @BeforeAll
    static void start() {
        server = SimServer.start(SimOptions.of(Profile.of("a100-80g-llama3-8b").withMaxNumSeqs(4))
                .withAdapters(List.of("sql-lora")));
        base = "http://127.0.0.1:" + server.ports().get(0);
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void completionReturnsTheRequestedTokensAndUsage() throws Exception {
        HttpResponse<String> res = post("/v1/completions",
                "{\"model\":\"llama-3-8b\",\"prompt\":\"Once upon a time\",\"max_tokens\":12}");
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.path("object").asString()).isEqualTo("text_completion");
        assertThat(body.path("choices").get(0).path("text").asString()).hasSize(48);
        assertThat(body.path("choices").get(0).path("finish_reason").asString()).isEqualTo("length");
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(12);
        assertThat(body.path("usage").path("prompt_tokens").asInt()).isEqualTo(4);
    }

    @Test
    void aNextTurnThatResendsTheAnswerFindsItCached() throws Exception {
        String question = "Tell me about prefix caching. ".repeat(40);
        java.util.Map<String, Object> user = java.util.Map.of("role", "user", "content", question);
        JsonNode first = JSON.readTree(post("/v1/chat/completions", JSON.writeValueAsString(java.util.Map.of(
                "model", "llama-3-8b", "max_tokens", 300, "messages", List.of(user)))).body());
        String answer = first.path("choices").get(0).path("message").path("content").asString();
        assertThat(answer).hasSize(1200);
        int firstPrompt = first.path("usage").path("prompt_tokens").asInt();
        JsonNode second = JSON.readTree(post("/v1/chat/completions", JSON.writeValueAsString(java.util.Map.of(
                "model", "llama-3-8b", "max_tokens", 5, "messages", List.of(user,
                        java.util.Map.of("role", "assistant", "content", answer),
                        java.util.Map.of("role", "user", "content", "And then?"))))).body());
        // Every full 16-token block of the first turn's prompt and answer is cached, not just the prompt's.
        int cached = second.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt();
        assertThat(cached).isGreaterThan(firstPrompt + 300 - 32).isLessThanOrEqualTo(firstPrompt + 300);
        // A turn that changed the answer shares only the prompt (and the block holding the assistant's tag).
        JsonNode edited = JSON.readTree(post("/v1/chat/completions", JSON.writeValueAsString(java.util.Map.of(
                "model", "llama-3-8b", "max_tokens", 5, "messages", List.of(user,
                        java.util.Map.of("role", "assistant", "content", "X" + answer.substring(1)),
                        java.util.Map.of("role", "user", "content", "And then?"))))).body());
        assertThat(edited.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt())
                .isLessThanOrEqualTo(firstPrompt + 16);
    }

    @Test
    void chatCompletionAnswersAsTheAssistant() throws Exception {
        HttpResponse<String> res = post("/v1/chat/completions", "{\"model\":\"sql-lora\",\"max_tokens\":5,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
        assertThat(res.statusCode()).isEqualTo(200);
        JsonNode body = JSON.readTree(res.body());
        assertThat(body.path("object").asString()).isEqualTo("chat.completion");
        assertThat(body.path("model").asString()).isEqualTo("sql-lora");
        assertThat(body.path("choices").get(0).path("message").path("role").asString()).isEqualTo("assistant");
        assertThat(body.path("usage").path("completion_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void streamingSendsOneEventPerTokenPacedByTheEngineThenUsageAndDone() throws Exception {
        int tokens = 20;
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("content-type", "application/json").timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama-3-8b\",\"stream\":true,\"max_tokens\":"
                        + tokens + ",\"stream_options\":{\"include_usage\":true},"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}")).build();
        HttpResponse<InputStream> res = HTTP.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
        List<String> data = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.startsWith("data: ")) {
                    data.add(line.substring(6));
                    times.add(System.nanoTime());
                }
            }
        }
        assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
        int content = 0;
        JsonNode usage = null;
        for (String d : data.subList(0, data.size() - 1)) {
            JsonNode chunk = JSON.readTree(d);
            assertThat(chunk.path("object").asString()).isEqualTo("chat.completion.chunk");
            if (chunk.path("choices").isEmpty()) {
                usage = chunk.path("usage");
            } else if (!chunk.path("choices").get(0).path("delta").path("content").asString("").isEmpty()) {
                content++;
            }
        }
        assertThat(content).isEqualTo(tokens);
        assertThat(usage).isNotNull();
        assertThat(usage.path("completion_tokens").asInt()).isEqualTo(tokens);
        // 19 decode iterations of about 10 ms each on an A100: the stream is paced, not dumped at once.
        long spreadMs = (times.get(times.size() - 2) - times.get(1)) / 1_000_000;
        assertThat(spreadMs).isGreaterThan(19 * 8);
    }

    @Test
    void modelsHealthAndErrorsHaveOpenAiShapes() throws Exception {
        JsonNode models = JSON.readTree(get("/v1/models").body());
        assertThat(models.path("data").findValuesAsString("id")).containsExactly("llama-3-8b", "sql-lora");
        assertThat(get("/health").statusCode()).isEqualTo(200);
        HttpResponse<String> unknown = post("/v1/completions", "{\"model\":\"gpt-9\",\"prompt\":\"x\"}");
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).path("error").path("code").asString()).isEqualTo("model_not_found");
        HttpResponse<String> bad = post("/v1/chat/completions", "{not json");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(bad.body()).path("error").path("type").asString())
                .isEqualTo("invalid_request_error");
        HttpResponse<String> tooLong = post("/v1/completions",
                "{\"model\":\"llama-3-8b\",\"prompt\":\"x\",\"max_tokens\":100000000}");
        assertThat(tooLong.statusCode()).isEqualTo(400);
        assertThat(tooLong.body()).contains("maximum context length");
    }

    @Test
    void requestsBeyondMaxNumSeqsWaitAndMetricsShowIt() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> inFlight = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            inFlight.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                            "{\"model\":\"llama-3-8b\",\"prompt\":\"load " + i + "\",\"max_tokens\":150}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() -> {
            String metrics = get("/metrics").body();
            assertThat(gauge(metrics, "vllm:num_requests_waiting")).isGreaterThanOrEqualTo(1);
            assertThat(gauge(metrics, "vllm:num_requests_running")).isEqualTo(4);
        });
        for (CompletableFuture<HttpResponse<String>> f : inFlight) {
            assertThat(f.get().statusCode()).isEqualTo(200);
        }
        String metrics = get("/metrics").body();
        assertThat(metrics).contains("vllm:time_to_first_token_seconds_bucket",
                "vllm:e2e_request_latency_seconds_count", "vllm:cache_config_info", "vllm:lora_requests_info",
                "vllm:prefix_cache_queries_total", "vllm:kv_cache_usage_perc");
        assertThat(gauge(metrics, "vllm:e2e_request_latency_seconds_count")).isGreaterThanOrEqualTo(10);
    }

    @Test
    void aRepeatedLongPromptHasALowerTimeToFirstToken() throws Exception {
        String prompt = "The quick brown fox jumps over the lazy dog. ".repeat(400);
        long cold = ttftNanos(prompt);
        long warm = ttftNanos(prompt);
        assertThat(warm).isLessThan(cold / 2);
        assertThat(gauge(get("/metrics").body(), "vllm:prefix_cache_hits_total")).isGreaterThan(1000);
    }

    private static long ttftNanos(String prompt) throws Exception {
        String body = JSON.writeValueAsString(java.util.Map.of("model", "llama-3-8b", "prompt", prompt,
                "max_tokens", 2, "stream", true));
        long start = System.nanoTime();
        HttpResponse<InputStream> res = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/v1/completions"))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        long first = -1;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (first < 0 && line.startsWith("data: {")) {
                    first = System.nanoTime() - start;
                }
            }
        }
        return first;
    }

    static double gauge(String metrics, String name) {
        return metrics.lines().filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void warmingUpServerAnswers503UntilReady() throws Exception {
        try (SimServer warming = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b"))
                .withFaults(Faults.NONE.withWarmup(Duration.ofSeconds(3), 1, Duration.ZERO)))) {
            String url = "http://127.0.0.1:" + warming.ports().get(0);
            HttpResponse<String> early = HTTP.send(HttpRequest.newBuilder(URI.create(url + "/health")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(early.statusCode()).isEqualTo(503);
            await().atMost(Duration.ofSeconds(15)).until(() -> HTTP.send(HttpRequest.newBuilder(
                    URI.create(url + "/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        }
    }

    @Test
    void injectedResetsAndErrorsReachTheClient() throws Exception {
        try (SimServer faulty = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withReplicas(2)
                .withFaults(Faults.NONE.withResetRate(1)))) {
            assertThat(faulty.ports()).hasSize(2).doesNotHaveDuplicates();
            String url = "http://127.0.0.1:" + faulty.ports().get(1) + "/v1/completions";
            assertThatThrownBy(() -> HTTP.send(HttpRequest.newBuilder(URI.create(url))
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"llama-3-8b\",\"prompt\":\"x\","
                            + "\"max_tokens\":50}")).build(), HttpResponse.BodyHandlers.ofString()))
                    .isInstanceOf(IOException.class);
        }
        try (SimServer failing = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b"))
                .withFaults(Faults.NONE.withErrorRate(1)))) {
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + failing.ports().get(0) + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\"llama-3-8b\",\"prompt\":\"x\"}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(500);
            assertThat(JSON.readTree(res.body()).path("error").path("type").asString()).isEqualTo("server_error");
        }
    }

    @Test
    void aClientThatGoesAwayFreesItsPlaceInTheBatch() throws Exception {
        try (java.net.Socket s = new java.net.Socket("127.0.0.1", server.ports().get(0))) {
            String body = "{\"model\":\"llama-3-8b\",\"prompt\":\"bye\",\"max_tokens\":3000,\"stream\":true}";
            s.getOutputStream().write(("POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                    + "content-length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.US_ASCII));
            byte[] some = new byte[512];
            assertThat(s.getInputStream().read(some)).isPositive();
            await().atMost(Duration.ofSeconds(5)).until(() ->
                    gauge(get("/metrics").body(), "vllm:num_requests_running") >= 1);
        }
        // 3,000 tokens would take 30 s; the abort frees the request at once.
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(50)).until(() ->
                gauge(get("/metrics").body(), "vllm:num_requests_running") == 0);
    }

    @Test
    void replicasListenOnConsecutivePorts() throws Exception {
        // A free port's neighbour may belong to another process: try a few bases (bounded) until both bind.
        SimServer two = null;
        int base = 0;
        for (int attempt = 0; attempt < 10 && two == null; attempt++) {
            try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
                base = probe.getLocalPort();
            }
            try {
                two = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withReplicas(2)
                        .withAddress("127.0.0.1", base));
            } catch (Exception e) {
                if (!bindFailure(e)) {
                    throw e;
                }
            }
        }
        assertThat(two).as("two consecutive free ports in 10 tries").isNotNull();
        try (SimServer started = two) {
            assertThat(started.ports()).containsExactly(base, base + 1);
            HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + (base + 1)
                    + "/v1/models")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(res.statusCode()).isEqualTo(200);
        }
    }

    private static boolean bindFailure(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.net.BindException
                    || String.valueOf(t.getMessage()).contains("Address already in use")) {
                return true;
            }
        }
        return false;
    }
}
