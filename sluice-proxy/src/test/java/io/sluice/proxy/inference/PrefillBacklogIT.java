package io.sluice.proxy.inference;

import static io.sluice.proxy.inference.SimCluster.chat;
import static io.sluice.proxy.inference.SimCluster.post;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code saturation.prefill_backlog} through the real proxy: a server that owes more prefill than the limit takes
 * nothing more, even though its engine reports no queue, so a burst waits in Sluice's central queue and leaves
 * shortest first instead of in the engine's first-come-first-served queue. Also the TTFT objective header's
 * met/missed count, on the same single server.
 */
class PrefillBacklogIT {

    /** Prompt tokens of a long request: about a second of prefill on the simulated a100 (4 bytes a token). */
    private static final int LONG_TOKENS = 12_000;

    private SimServer sim;
    private RunningSluice sluice;

    @BeforeEach
    void start() {
        sim = SimServer.start(SimOptions.of(Profile.of("a100-80g-llama3-8b")));
    }

    /**
     * Starts Sluice in front of the given endpoints. A 300 ms limit at 10,000 tokens/s is 3,000 tokens: one long
     * prompt in flight saturates a server. The scrape thresholds stay at their defaults (5 waiting), which a single
     * long prefill never reaches.
     */
    private void sluice(String endpoints) {
        sluice = RunningSluice.start("""
                io_threads: 1
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: llm } ]
                pools:
                  - name: llm
                    policy: inference
                    inference:
                      metrics: { interval: 50ms, stale_after: 2s }
                      saturation: { prefill_backlog: 300ms }
                      load_guard: { prefill_tokens_per_second: 10000 }
                      flow_control: { queue_timeout: 30s }
                    endpoints: %s
                """.formatted(endpoints));
        sluice.awaitReady();
    }

    @AfterEach
    void stop() {
        if (sluice != null) {
            sluice.close();
        }
        sim.close();
    }

    private String url() {
        return sluice.url("web") + "/v1/chat/completions";
    }

    private double queued() {
        return sluice.metric("sluice_inference_queue_size", "pool=\"llm\"", "priority=\"0\"");
    }

    private CompletableFuture<HttpResponse<String>> send(String label, int bytes, int seed,
                                                         ConcurrentLinkedQueue<String> order) {
        // Streamed: the router sees each first token as it comes and releases the queue on it.
        return SimCluster.HTTP.sendAsync(post(url(), chat("llama-3-8b", "s", SimCluster.text(seed, bytes), 1,
                true)), HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                    if (e == null && r.statusCode() == 200) {
                        order.add(label);
                    }
                });
    }

    @Test
    void aBurstWaitsInSluiceAndTheShortPromptsGoFirst() {
        sluice("[ { address: 127.0.0.1:" + sim.ports().get(0) + " } ]");
        // One answered request: from now on the router trusts its own account of the prefill it sent.
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", "warm up", 1, false))).statusCode())
                .isEqualTo(200);
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        // The first long prompt is three times longer (about 3 s of prefill): time enough, even on a loaded
        // machine, for everything below to be queued before its first token releases the queue.
        all.add(send("long", LONG_TOKENS * 4 * 3, 99, order));
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> SimCluster.metric(sim.ports().get(0), "vllm:num_requests_running") >= 1);
        for (int i = 0; i < 3; i++) {
            all.add(send("long", LONG_TOKENS * 4, 100 + i, order));
        }
        // The first long prompt went to the server; the other three wait here, not in the engine.
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> queued() == 3);
        for (int i = 0; i < 4; i++) {
            all.add(send("short", 200, 200 + i, order));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> queued() == 7 || !order.isEmpty());
        assertThat(order).as("the first long prompt finished before the burst was queued").isEmpty();
        all.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(200));

        List<String> done = new ArrayList<>(order);
        assertThat(done).hasSize(8);
        // The long prompt already on the server finishes first or among the first; every short prompt then
        // overtakes the three long ones that waited in Sluice (shortest predicted prefill first).
        assertThat(done.subList(5, 8)).as("completion order %s", done).containsOnly("long");
        assertThat(done.indexOf("long")).as("completion order %s", done).isLessThanOrEqualTo(4);
        assertThat(sluice.metric("sluice_inference_queue_wait_seconds_count", "pool=\"llm\""))
                .isGreaterThanOrEqualTo(3);
        assertThat(queued()).isZero();
    }

    @Test
    void requestsWithATtftObjectiveAreCountedMetOrMissed() {
        sluice("[ { address: 127.0.0.1:" + sim.ports().get(0) + " } ]");
        // A short prompt with a whole minute to spare; a long one (about a second of prefill) allowed 1 ms.
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", "short", 1, true), "x-slo-ttft-ms",
                "60000")).statusCode()).isEqualTo(200);
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", SimCluster.text(7, LONG_TOKENS * 4), 1,
                true), "x-slo-ttft-ms", "1")).statusCode()).isEqualTo(200);
        // Without the header: not counted.
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", "plain", 1, true))).statusCode())
                .isEqualTo(200);
        assertThat(sluice.metric("sluice_inference_ttft_slo_total", "pool=\"llm\"", "result=\"met\""))
                .isEqualTo(1);
        assertThat(sluice.metric("sluice_inference_ttft_slo_total", "pool=\"llm\"", "result=\"missed\""))
                .isEqualTo(1);
        assertThat(sluice.metric("sluice_inference_time_to_first_token_seconds_count", "pool=\"llm\""))
                .isEqualTo(3);
    }

    @Test
    void aRetryThatFindsEverySurvivorSaturatedWaitsInTheQueueInsteadOfFailing() throws IOException {
        int dead;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            dead = s.getLocalPort();   // closed again: connections to it are refused
        }
        sluice("[ { address: 127.0.0.1:" + sim.ports().get(0) + " }, { address: 127.0.0.1:" + dead + " } ]");
        // Warm up until a request has come back (a first try may hit the dead endpoint and be retried).
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", "warm up", 1, false))).statusCode())
                .isEqualTo(200);
        // A long prompt makes the live server owe more prefill than the limit: saturated.
        CompletableFuture<HttpResponse<String>> longOne = SimCluster.HTTP.sendAsync(post(url(), chat("llama-3-8b",
                "s", SimCluster.text(1, LONG_TOKENS * 4), 1, false)), HttpResponse.BodyHandlers.ofString());
        String live = "endpoint=\"127.0.0.1:" + sim.ports().get(0) + "\"";
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> sluice.metric("sluice_upstream_active_requests", live) >= 1);
        double picksBefore = sluice.metric("sluice_inference_queue_wait_seconds_count", "pool=\"llm\"");
        // The next request can only go to the dead endpoint. That try fails (the connection is refused, or the
        // endpoint's circuit breaker, tripped by the earlier failures, refuses it), and the next pick finds the
        // live server saturated: the request waits for it in the central queue instead of being answered 503.
        HttpResponse<String> retried = SimCluster.send(post(url(), chat("llama-3-8b", "s", "short", 1, false)));
        assertThat(retried.statusCode()).as(retried.body()).isEqualTo(200);
        // Two picks through the queue for this one request: the first (to the dead endpoint), and the one after
        // it waited again.
        assertThat(sluice.metric("sluice_inference_queue_wait_seconds_count", "pool=\"llm\"") - picksBefore)
                .isEqualTo(2);
        assertThat(longOne.join().statusCode()).isEqualTo(200);
    }
}
