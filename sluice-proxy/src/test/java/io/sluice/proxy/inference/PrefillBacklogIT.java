package io.sluice.proxy.inference;

import static io.sluice.proxy.inference.SimCluster.chat;
import static io.sluice.proxy.inference.SimCluster.post;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
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
 * shortest first instead of in the engine's first-come-first-served queue.
 */
class PrefillBacklogIT {

    /** Prompt tokens of a long request: about a second of prefill on the simulated a100 (4 bytes a token). */
    private static final int LONG_TOKENS = 12_000;

    private SimServer sim;
    private RunningSluice sluice;

    @BeforeEach
    void start() {
        sim = SimServer.start(SimOptions.of(Profile.of("a100-80g-llama3-8b")));
        // A 300 ms limit at 10,000 tokens/s is 3,000 tokens: one long prompt in flight saturates the server. The
        // scrape thresholds stay at their defaults (5 waiting), which a single long prefill never reaches.
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
                    endpoints: [ { address: 127.0.0.1:%d } ]
                """.formatted(sim.ports().get(0)));
        sluice.awaitReady();
    }

    @AfterEach
    void stop() {
        sluice.close();
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
        return SimCluster.HTTP.sendAsync(post(url(), chat("llama-3-8b", "s", SimCluster.text(seed, bytes), 1,
                false)), HttpResponse.BodyHandlers.ofString()).whenComplete((r, e) -> {
                    if (e == null && r.statusCode() == 200) {
                        order.add(label);
                    }
                });
    }

    @Test
    void aBurstWaitsInSluiceAndTheShortPromptsGoFirst() {
        // One answered request: from now on the router trusts its own account of the prefill it sent.
        assertThat(SimCluster.send(post(url(), chat("llama-3-8b", "s", "warm up", 1, false))).statusCode())
                .isEqualTo(200);
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            all.add(send("long", LONG_TOKENS * 4, 100 + i, order));
        }
        // The first long prompt went to the server; the other three wait here, not in the engine.
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> queued() == 3);
        for (int i = 0; i < 4; i++) {
            all.add(send("short", 200, 200 + i, order));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(2))
                .until(() -> queued() >= 5 || order.contains("short"));
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
}
