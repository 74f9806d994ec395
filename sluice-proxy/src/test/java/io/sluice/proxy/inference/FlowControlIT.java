package io.sluice.proxy.inference;

import static io.sluice.proxy.inference.SimCluster.chat;
import static io.sluice.proxy.inference.SimCluster.post;
import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.endpoint.Address;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The central queue of an inference pool through the real proxy, in front of a {@code sluice sim} replica that runs
 * one request at a time ({@code max_num_seqs: 1}): saturated, requests wait in Sluice, leave by priority and in
 * equal shares between tenants, and are refused as the flow-control settings say.
 */
class FlowControlIT {

    private SimServer sim;
    private RunningSluice sluice;
    private int port;

    @BeforeEach
    void start() {
        sim = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b").withMaxNumSeqs(1)));
        port = sim.ports().get(0);
        sluice = RunningSluice.start("""
                io_threads: 1
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /, headers: { x-pool: short } }, pool: short }
                      - { match: { path_prefix: / }, pool: llm }
                pools:
                  - name: llm
                    policy: inference
                    inference:
                      metrics: { interval: 20ms, stale_after: 2s }
                      saturation: { queue: 1 }
                      flow_control: { max_queue: 200, queue_timeout: 20s }
                    endpoints: [ { address: 127.0.0.1:%1$d } ]
                  - name: short
                    policy: inference
                    inference:
                      metrics: { interval: 20ms, stale_after: 2s }
                      saturation: { queue: 1 }
                      flow_control: { max_queue: 2, queue_timeout: 1s }
                    endpoints: [ { address: 127.0.0.1:%1$d } ]
                """.formatted(port));
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

    /**
     * Keeps the replica busy for a few seconds with long requests sent to it directly (load from elsewhere, which
     * Sluice sees only in the replica's metrics), until both pools see it saturated.
     */
    private List<CompletableFuture<HttpResponse<String>>> saturate() {
        List<CompletableFuture<HttpResponse<String>>> fillers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            fillers.add(SimCluster.HTTP.sendAsync(post("http://127.0.0.1:" + port + "/v1/chat/completions",
                    chat("llama-3-8b", "filler", "long " + i, 400, false)), HttpResponse.BodyHandlers.ofString()));
        }
        for (String pool : List.of("llm", "short")) {
            InferencePool p = sluice.server().runtime().pool(pool).orElseThrow().inference().orElseThrow();
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5)).until(() ->
                    p.fleet().metrics(new Address("127.0.0.1", port)).map(m -> m.waiting() >= 2).orElse(false));
        }
        return fillers;
    }

    private double queued(String pool) {
        return sluice.metric("sluice_inference_queue_size", "pool=\"" + pool + "\"", "priority=\"0\"");
    }

    /** Sends a request and records, when it completes, its label in the completion order. */
    private CompletableFuture<HttpResponse<String>> send(HttpRequest r, String label,
                                                         ConcurrentLinkedQueue<String> order) {
        return SimCluster.HTTP.sendAsync(r, HttpResponse.BodyHandlers.ofString()).whenComplete((resp, e) -> {
            if (e == null && resp.statusCode() == 200) {
                order.add(label);
            }
        });
    }

    @Test
    void higherPriorityIsServedFirst() {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>(saturate());
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < 5; i++) {
            all.add(send(post(url(), chat("llama-3-8b", "s", "standard " + i, 2, false),
                    "x-gateway-inference-objective", "standard"), "standard", order));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> queued("llm") == 5);
        for (int i = 0; i < 5; i++) {
            all.add(send(post(url(), chat("llama-3-8b", "s", "critical " + i, 2, false),
                    "x-gateway-inference-objective", "critical"), "critical", order));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> sluice.metric("sluice_inference_queue_size", "pool=\"llm\"", "priority=\"10\"") == 5);
        assertThat(queued("llm")).isEqualTo(5);
        // Dispatch order, read from the queue gauges while the queue drains: once a standard request has left (its
        // gauge below 5), no critical one may still wait. The standard gauge is read first, so a reading can never
        // see a standard leave before a critical that in fact left earlier.
        AtomicBoolean standardOvertook = new AtomicBoolean();
        Awaitility.await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1)).until(() -> {
            double standard = queued("llm");
            double critical = sluice.metric("sluice_inference_queue_size", "pool=\"llm\"", "priority=\"10\"");
            if (standard < 5 && critical > 0) {
                standardOvertook.set(true);
            }
            return standard == 0;
        });
        assertThat(standardOvertook).as("a standard request left the queue while a critical one waited").isFalse();
        all.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(200));
        // Completion order at the one-sequence sim: criticals first. Two requests released in the same instant (a
        // scrape can free two places) reach the sim over two connections in either order, so the last critical and
        // the first standard may swap; everything else is fixed.
        List<String> done = new ArrayList<>(order);
        assertThat(done).hasSize(10);
        assertThat(done.subList(0, 4)).as("completion order %s", done).containsOnly("critical");
        assertThat(done.subList(4, 6)).as("completion order %s", done).containsExactlyInAnyOrder("critical",
                "standard");
        assertThat(done.subList(6, 10)).as("completion order %s", done).containsOnly("standard");
        assertThat(sluice.metric("sluice_inference_queue_wait_seconds_count", "pool=\"llm\"")).isEqualTo(10);
        assertThat(queued("llm")).isZero();
    }

    @Test
    void twoTenantsSendingTenToOneGetEqualSharesWhileBothAreBacklogged() {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>(saturate());
        ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
        for (int i = 0; i < 55; i++) {
            String tenant = i % 11 == 10 ? "small" : "big";
            all.add(send(post(url(), chat("llama-3-8b", "s", tenant + " " + i, 1, false),
                    "x-gateway-inference-fairness-id", tenant), tenant, order));
        }
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                .until(() -> queued("llm") == 55);
        all.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(200));
        List<String> done = new ArrayList<>(order);
        int lastSmall = done.lastIndexOf("small");
        long bigWhileBothBacklogged = done.subList(0, lastSmall + 1).stream().filter("big"::equals).count();
        System.out.println("completion order: " + done);
        assertThat(done.stream().filter("small"::equals).count()).isEqualTo(5);
        assertThat(bigWhileBothBacklogged).as("the big tenant's share while the small one had requests queued")
                .isBetween(4L, 6L);
    }

    @Test
    void sheddableTimeoutAndFullQueueAreRefusedAsConfigured() {
        List<CompletableFuture<HttpResponse<String>>> fillers = saturate();
        long t0 = System.nanoTime();
        HttpResponse<String> shed = SimCluster.send(post(url(), chat("llama-3-8b", "s", "maybe", 2, false),
                "x-gateway-inference-objective", "sheddable"));
        assertThat(shed.statusCode()).isEqualTo(429);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
        assertThat(shed.headers().firstValue("retry-after")).isPresent();
        assertThat(shed.body()).contains("\"type\":\"rate_limit_error\"", "sheddable");
        assertThat(sluice.metric("sluice_inference_shed_total", "pool=\"llm\"", "reason=\"sheddable\""))
                .isEqualTo(1);

        List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            waiting.add(SimCluster.HTTP.sendAsync(post(url(), chat("llama-3-8b", "s", "wait " + i, 2, false),
                    "x-pool", "short"), HttpResponse.BodyHandlers.ofString()));
        }
        InferencePool shortPool = sluice.server().runtime().pool("short").orElseThrow().inference().orElseThrow();
        Awaitility.await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(1))
                .until(() -> shortPool.queue().size() == 2);
        HttpResponse<String> full = SimCluster.send(post(url(), chat("llama-3-8b", "s", "one too many", 2, false),
                "x-pool", "short"));
        assertThat(full.statusCode()).isEqualTo(503);
        assertThat(full.body()).contains("queue of pool short is full");
        for (CompletableFuture<HttpResponse<String>> w : waiting) {
            HttpResponse<String> r = w.join();
            assertThat(r.statusCode()).as(r.body()).isEqualTo(429);
            assertThat(r.headers().firstValue("retry-after")).hasValueSatisfying(v ->
                    assertThat(Long.parseLong(v)).isPositive());
            assertThat(r.body()).contains("waited 1000 ms in the queue of pool short");
        }
        assertThat(sluice.metric("sluice_inference_shed_total", "pool=\"short\"", "reason=\"timeout\""))
                .isEqualTo(2);
        assertThat(sluice.metric("sluice_inference_shed_total", "pool=\"short\"", "reason=\"queue_full\""))
                .isEqualTo(1);
        fillers.forEach(f -> assertThat(f.join().statusCode()).isEqualTo(200));
    }
}
