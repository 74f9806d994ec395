package io.sluice.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TtftLoadIT {

    private static SimServer sims;
    private static List<URI> urls;

    @BeforeAll
    static void start() {
        sims = SimServer.start(SimOptions.of(Profile.instant()).withReplicas(2));
        urls = new ArrayList<>();
        for (int port : sims.ports()) {
            urls.add(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"));
        }
    }

    @AfterAll
    static void stop() {
        sims.close();
    }

    private static long requestsServed(int replica) throws Exception {
        HttpResponse<String> res = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                "http://127.0.0.1:" + sims.ports().get(replica) + "/metrics")).timeout(Duration.ofSeconds(10))
                .build(), HttpResponse.BodyHandlers.ofString());
        return res.body().lines().filter(l -> l.startsWith("vllm:time_to_first_token_seconds_count"))
                .mapToLong(l -> (long) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void closedLoopStreamsLongPromptsToEveryTargetAndRecordsTtft() throws Exception {
        LoadOptions options = new LoadOptions(urls, List.of(), 4, 0, Duration.ofMillis(300), Duration.ofSeconds(1), 0,
                Duration.ofSeconds(10), 1);
        TtftLoad.Result r = TtftLoad.run(options, i -> new PromptCorpus("llama-3-8b", 220_000, 0.5, 2, 3, i)).get(0);
        assertThat(r.errors()).isZero();
        assertThat(r.unfinished()).isZero();
        assertThat(r.ok()).isPositive();
        assertThat(r.ttftMicros().getTotalCount()).isEqualTo(r.ok());
        assertThat(r.ttftMicros().getMaxValue()).isLessThanOrEqualTo(r.totalMicros().getMaxValue());
        assertThat(r.bytesSent()).isGreaterThan(220_000L * r.ok());
        assertThat(requestsServed(0)).isPositive();
        assertThat(requestsServed(1)).isPositive();
    }

    @Test
    void openLoopSendsAtTheRateAndStopsAtMaxRequests() throws Exception {
        LoadOptions options = new LoadOptions(urls.subList(0, 1), List.of(), 2, 40, Duration.ZERO, Duration.ofSeconds(5), 10,
                Duration.ofSeconds(10), 1);
        TtftLoad.Result r = TtftLoad.run(options, i -> new PromptCorpus("llama-3-8b", 4_000, 0.5, 2, 2, i)).get(0);
        assertThat(r.errors()).isZero();
        assertThat(r.ok()).isEqualTo(10);
        // 10 requests due every 25 ms: the window closes after about 0.25 s, long before its 5 s.
        assertThat(r.seconds()).isLessThan(4.0);
    }

    @Test
    void errorsAreCountedNotRecorded() throws Exception {
        LoadOptions options = new LoadOptions(List.of(URI.create("http://127.0.0.1:" + sims.ports().get(0)
                + "/v1/nothing")), List.of(), 2, 0, Duration.ZERO, Duration.ofMillis(300), 0, Duration.ofSeconds(5), 1);
        TtftLoad.Result r = TtftLoad.run(options, i -> new PromptCorpus("llama-3-8b", 1_000, 0.5, 1, 1, i)).get(0);
        assertThat(r.ok()).isZero();
        assertThat(r.errors()).isPositive();
        assertThat(r.ttftMicros().getTotalCount()).isZero();
    }

    @Test
    void refusesBadOptions() {
        assertThatThrownBy(() -> new LoadOptions(List.of(URI.create("https://x:1/")), List.of(), 1, 0, Duration.ZERO,
                Duration.ofSeconds(1), 0, Duration.ZERO, 1)).hasMessageContaining("http://host:port");
        assertThatThrownBy(() -> new LoadOptions(urls, List.of(), 0, 0, Duration.ZERO, Duration.ofSeconds(1), 0,
                Duration.ZERO, 1)).hasMessageContaining("concurrency");
    }

    @Test
    void pairedArmsRunTogetherWithTheirOwnHistograms() throws Exception {
        LoadOptions options = new LoadOptions(urls.subList(0, 1), urls.subList(1, 2), 2, 50, Duration.ZERO,
                Duration.ofSeconds(5), 20, Duration.ofSeconds(10), 1);
        List<TtftLoad.Result> r = TtftLoad.run(options, i -> new PromptCorpus("llama-3-8b", 8_000, 0.5, 2, 2, i));
        assertThat(r).hasSize(2);
        // 20 requests due 10 ms apart, taking turns: 10 per arm, each arm on its own server.
        assertThat(r.get(0).ok()).isEqualTo(10);
        assertThat(r.get(1).ok()).isEqualTo(10);
        assertThat(r.get(0).errors() + r.get(1).errors()).isZero();
        assertThat(r.get(0).ttftMicros().getTotalCount()).isEqualTo(10);
    }
}
