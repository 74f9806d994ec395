package io.sluice.proxy.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.channel.ChannelHandlerContext;
import io.sluice.proxy.testing.LoadGenerator;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Drain through the admin API and a hundred hot reloads, under steady load: nothing may fail. */
class DrainReloadIT {

    /** Answers after a few milliseconds, so that requests are in flight when the test acts. */
    private static TestBackend.Behaviour slow(String name, long millis) {
        return (ChannelHandlerContext ctx, TestBackend.Seen r) -> ctx.executor().schedule(
                () -> TestBackend.respond(ctx, 200, name), millis, TimeUnit.MILLISECONDS);
    }

    private static long sentAt(TestBackend.Seen r) {
        String v = r.headers().get("x-sent-at");
        return v == null ? Long.MIN_VALUE : Long.parseLong(v);
    }

    @Test
    void drainDuringLoadFailsNothingAndSendsNothingNewToTheDrainedEndpoint() {
        try (TestBackend a = TestBackend.start("a", slow("a", 5)); TestBackend b = TestBackend.start("b", slow("b", 5));
             TestBackend c = TestBackend.start("c", slow("c", 20));
             RunningSluice sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: web } ]
                pools:
                  - name: web
                    policy: least-connections
                    endpoints: [ { address: %s }, { address: %s }, { address: %s } ]
                """.formatted(a.address(), b.address(), c.address()))) {
            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 6, Duration.ofMillis(1), 100_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> load.count("c") > 30 && c.openConnections() > 0);

            HttpResponse<String> drain = sluice.admin("POST", "/api/v1/pools/web/endpoints/" + c.address()
                    + "/drain", null);
            long drained = System.nanoTime();
            assertThat(drain.statusCode()).isEqualTo(200);
            long sentAtDrain = load.sent();
            await().atMost(Duration.ofSeconds(10)).until(() -> load.sent() > sentAtDrain + 500);
            // Requests in flight at the drain finished; then every connection to it closed.
            await().atMost(Duration.ofSeconds(5)).until(() -> c.openConnections() == 0);
            long afterDrain = c.seen().stream().filter(r -> sentAt(r) > drained).count();

            HttpResponse<String> enable = sluice.admin("POST", "/api/v1/pools/web/endpoints/" + c.address()
                    + "/enable", null);
            long enabled = System.nanoTime();
            assertThat(enable.statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(10)).until(() -> c.seen().stream().anyMatch(r -> sentAt(r) > enabled));
            LoadGenerator.Result r = load.stop();
            FailoverIT.print("drain during load", r, sluice.metric("sluice_retries_total"),
                    "requests_to_drained_after_the_call=" + afterDrain);

            assertThat(afterDrain).as("requests sent after the drain call returned that reached it").isZero();
            assertThat(r.failed()).as("failures %s", r.failures()).isZero();
            assertThat(r.connectionsLost()).isZero();
        }
    }

    private static String config(TestBackend a, TestBackend b, TestBackend c, boolean variant) {
        // Two valid configs that differ in policy, weights, health check timing, retries and limits.
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: web } ]
                pools:
                  - name: web
                    policy: %s
                    endpoints: [ { address: %s, weight: %d }, { address: %s }, { address: %s } ]
                    health_check: { type: http, path: /health, interval: %s, timeout: 100ms }
                    outlier_detection: { consecutive_gateway_errors: %d }
                    retries: { attempts: %d, budget_percent: %d }
                    limits: { max_requests: %d, max_pending: %d }
                """.formatted(variant ? "least-connections" : "round-robin", a.address(), variant ? 3 : 1,
                b.address(), c.address(), variant ? "200ms" : "300ms", variant ? 5 : 3, variant ? 3 : 2,
                variant ? 30 : 20, variant ? 500 : 1000, variant ? 100 : 200);
    }

    @Test
    void hundredHotReloadsDuringLoadFailNothingAndAnInvalidConfigIsRefused() {
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b");
             TestBackend c = TestBackend.start("c");
             RunningSluice sluice = RunningSluice.start(config(a, b, c, false))) {
            sluice.awaitReady();
            // The admin port chosen at start stays bound across reloads of an unchanged admin section.
            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 4, Duration.ofMillis(1), 1_000_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> load.sent() > 200);
            int refused = 0;
            for (int i = 1; i <= 100; i++) {
                if (i == 50) {
                    var running = sluice.server().runtime().config();
                    sluice.writeConfig(config(a, b, c, true).replace("interval: 200ms", "interval: soon")
                            .replace("weight: 3", "weight: 0"));
                    HttpResponse<String> bad = sluice.reload();
                    assertThat(bad.statusCode()).isEqualTo(400);
                    assertThat(bad.body()).contains("refused").contains("pools[0].health_check.interval")
                            .contains("pools[0].endpoints[0].weight");
                    refused++;
                    assertThat(sluice.server().runtime().config()).as("the running config stays").isSameAs(running);
                }
                sluice.writeConfig(config(a, b, c, i % 2 == 0));
                HttpResponse<String> ok = sluice.reload();
                assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
                long sentNow = load.sent();
                await().atMost(Duration.ofSeconds(5)).until(() -> load.sent() > sentNow + 10);
            }
            LoadGenerator.Result r = load.stop();
            FailoverIT.print("100 hot reloads", r, sluice.metric("sluice_retries_total"),
                    String.format("reloads_ok=%.0f reloads_refused=%.0f", sluice.metric("sluice_config_reloads_total",
                            "result=\"ok\""), sluice.metric("sluice_config_reloads_total", "result=\"rejected\"")));

            assertThat(r.failed()).as("failures %s", r.failures()).isZero();
            assertThat(r.connectionsLost()).as("client connections reset or closed").isZero();
            assertThat(sluice.metric("sluice_config_reloads_total", "result=\"ok\"")).isEqualTo(100);
            assertThat(sluice.metric("sluice_config_reloads_total", "result=\"rejected\"")).isEqualTo(refused);
            assertThat(sluice.server().runtime().config().pools().get(0).policy()).isEqualTo("least-connections");
            assertThat(r.bodies()).containsKeys("a", "b", "c");
            assertThat(sluice.server().health().checker(sluice.server().runtime().pool("web").orElseThrow().pool()
                    .members().get(0))).as("still probed after the reloads").isPresent();
        }
    }
}
