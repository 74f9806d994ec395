package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.endpoint.Address;
import io.sluice.proxy.testing.DeadPort;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The engine-metrics scraper follows the pool: endpoints added through the admin API or a reload are scraped from
 * the next tick, removed ones are dropped, a dead endpoint counts scrape errors and its reading goes stale.
 */
class EngineScraperIT {

    private static String config(int first, String more) {
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: llm } ]
                pools:
                  - name: llm
                    policy: inference
                    inference: { metrics: { interval: 20ms, stale_after: 200ms } }
                    endpoints: [ { address: 127.0.0.1:%d }%s ]
                """.formatted(first, more);
    }

    private static double fresh(RunningSluice sluice, int port) {
        return sluice.metric("sluice_inference_endpoint_metrics_fresh", "endpoint=\"127.0.0.1:" + port + "\"");
    }

    @Test
    void scrapesFollowAddedRemovedAndDeadEndpoints() {
        try (SimServer sims = SimServer.start(SimOptions.of(Profile.of("h100-llama3-8b")).withReplicas(3));
             DeadPort dead = DeadPort.reserve()) {
            int a = sims.ports().get(0);
            int b = sims.ports().get(1);
            int c = sims.ports().get(2);
            try (RunningSluice sluice = RunningSluice.start(config(a, ""))) {
                sluice.awaitReady();
                InferencePool pool = sluice.server().runtime().pool("llm").orElseThrow().inference().orElseThrow();
                Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(() -> fresh(sluice, a) == 1);
                assertThat(pool.fleet().metrics(new Address("127.0.0.1", a))).hasValueSatisfying(m ->
                        assertThat(m.kvCacheBlocks()).isPositive());

                assertThat(sluice.admin("POST", "/api/v1/pools/llm/endpoints",
                        "{\"address\":\"127.0.0.1:" + b + "\"}").statusCode()).isEqualTo(201);
                Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(() -> fresh(sluice, b) == 1);

                // A reload that adds one endpoint and a dead one, and drops the one added by the admin API.
                sluice.writeConfig(config(a, ", { address: 127.0.0.1:" + c + " }, { address: " + dead.address()
                        + " }"));
                assertThat(sluice.reload().statusCode()).isEqualTo(200);
                InferencePool reloaded = sluice.server().runtime().pool("llm").orElseThrow().inference()
                        .orElseThrow();
                assertThat(reloaded.fleet()).as("unchanged settings keep what the pool learned")
                        .isSameAs(pool.fleet());
                Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                        .until(() -> fresh(sluice, c) == 1 && sluice.metric("sluice_inference_scrape_errors_total",
                                "endpoint=\"" + dead.address() + "\"") >= 3);
                assertThat(fresh(sluice, dead.port())).isZero();
                assertThat(sluice.admin("GET", "/metrics", null).body().lines()
                        .filter(l -> l.startsWith("sluice_inference_endpoint_metrics_fresh{"))
                        .filter(l -> l.contains("127.0.0.1:" + b + "\""))).as("the removed endpoint left").isEmpty();
                long before = (long) sluice.metric("sluice_inference_scrape_errors_total", "endpoint=\"127.0.0.1:"
                        + a + "\"");
                assertThat(before).as("a healthy endpoint's scrapes do not fail").isZero();
            }
        }
    }

    @Test
    void aScrapeWhoseBodyNeverEndsIsAbortedWhenTheNextOneIsSent() throws Exception {
        // An endpoint that answers every request with a response head and a first chunk, then nothing, for ever.
        java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
        try (java.net.ServerSocket hung = new java.net.ServerSocket(0, 50,
                java.net.InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                while (!hung.isClosed()) {
                    try {
                        java.net.Socket socket = hung.accept();
                        accepted.incrementAndGet();
                        Thread reader = new Thread(() -> {
                            try (socket) {
                                socket.getOutputStream().write(("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n"
                                        + "transfer-encoding: chunked\r\n\r\n5\r\n# vll\r\n")
                                        .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                                socket.getOutputStream().flush();
                                while (socket.getInputStream().read() >= 0) {
                                    // Drain until the client gives up on this connection.
                                }
                            } catch (java.io.IOException e) {
                                // Reset by the client: it gave up too.
                            }
                            closed.incrementAndGet();
                        });
                        reader.setDaemon(true);
                        reader.start();
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            try (RunningSluice sluice = RunningSluice.start(config(hung.getLocalPort(), ""))) {
                sluice.awaitReady();
                // Scrapes are stuck after twice max(stale_after, 1 s); each new one must abort the stuck one, whose
                // connection the endpoint then sees closed. Without that, stuck scrapes pile up connections (and
                // buffered bodies) for ever.
                Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(50))
                        .until(() -> accepted.get() >= 3 && closed.get() >= 2);
                assertThat(closed.get()).isGreaterThanOrEqualTo(accepted.get() - 2);
                assertThat(fresh(sluice, hung.getLocalPort())).isZero();
            }
        }
    }
}
