package io.sluice.proxy.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import io.sluice.proxy.testing.ExternalBackend;
import io.sluice.proxy.testing.LoadGenerator;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Chaos tests of issue 5, acceptance 2: backends that die, hang or fail half their requests, under steady load
 * through the real proxy. Each test prints its numbers (docs/benchmarks.md records them).
 */
class FailoverIT {

    private static final Duration POLL = Duration.ofMillis(5);

    private static String listener(String pools) {
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: web } ]
                pools:
                """ + pools;
    }

    private static Member member(RunningSluice sluice, String address) {
        return sluice.server().runtime().pool("web").orElseThrow().pool().member(Address.parse(address))
                .orElseThrow();
    }

    /** Polls every 5 ms until the condition holds; returns the milliseconds it took from {@code since}. */
    private static double millisUntil(BooleanSupplier condition, long since, Duration atMost) {
        await().atMost(atMost).pollInterval(POLL).pollDelay(Duration.ZERO).until(condition::getAsBoolean);
        return (System.nanoTime() - since) / 1e6;
    }

    static void print(String test, LoadGenerator.Result r, double retries, String extra) {
        System.out.printf("[resilience] %s: sent=%d failed=%d retried=%.0f max_latency_ms=%.1f success=%.3f%% "
                + "connections_lost=%d %s%n", test, r.sent(), r.failed(), retries, r.maxLatencyMillis(),
                r.successPercent(), r.connectionsLost(), extra);
        if (r.failed() > 0) {
            System.out.printf("[resilience] %s: failures %s%n", test, r.failures());
        }
    }

    @Test
    void killNineOfOneOfThreeBackendsLosesNoRequest() {
        // interval × unhealthy_threshold = 1 s: the bound the dead endpoint must be out within.
        long intervalMillis = 500;
        int unhealthyThreshold = 2;
        long unhealthyIntervalMillis = 250;
        int healthyThreshold = 2;
        ExternalBackend c = ExternalBackend.start("c", 0);
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b");
             RunningSluice sluice = RunningSluice.start(listener("""
                  - name: web
                    endpoints: [ { address: %s }, { address: %s }, { address: %s } ]
                    health_check: { type: http, path: /health, interval: %dms, unhealthy_interval: %dms,
                                    timeout: 400ms, healthy_threshold: %d, unhealthy_threshold: %d }
                    outlier_detection: { consecutive_gateway_errors: 3, base_ejection: 500ms, max_ejection_percent: 34 }
                    retries: { attempts: 3, backoff_base: 2ms, backoff_max: 10ms, min_concurrent: 4 }
                """.formatted(a.address(), b.address(), c.address(), intervalMillis, unhealthyIntervalMillis,
                     healthyThreshold, unhealthyThreshold)))) {
            sluice.awaitReady();
            Member dead = member(sluice, c.address());
            await().atMost(Duration.ofSeconds(5)).until(() -> dead.usable(System.nanoTime()));

            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 4, Duration.ofMillis(1), 200_000);
            await().atMost(Duration.ofSeconds(10)).until(() -> load.count("c") > 50);

            c.kill();
            long killed = System.nanoTime();
            double outOfRotation = millisUntil(() -> !dead.usable(System.nanoTime()), killed, Duration.ofSeconds(5));
            double healthDown = millisUntil(() -> !dead.checkPassing(), killed, Duration.ofSeconds(5));
            long sentAtKill = load.sent();
            await().atMost(Duration.ofSeconds(10)).until(() -> load.sent() > sentAtKill + 500);

            ExternalBackend restarted = ExternalBackend.start("c", c.port());
            try {
                // The clock starts once the new process serves (a cold JVM's first answer can take a while).
                java.net.http.HttpClient direct = java.net.http.HttpClient.newHttpClient();
                await().atMost(Duration.ofSeconds(10)).pollInterval(POLL).ignoreExceptions().until(() -> direct.send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://" + restarted.address()
                                + "/warm")).build(), java.net.http.HttpResponse.BodyHandlers.ofString())
                        .statusCode() == 200);
                long back = System.nanoTime();
                double returned = millisUntil(() -> dead.usable(System.nanoTime()), back, Duration.ofSeconds(10));
                long servedBefore = load.count("c");
                await().atMost(Duration.ofSeconds(10)).until(() -> load.count("c") > servedBefore + 50);
                LoadGenerator.Result r = load.stop();
                double retries = sluice.metric("sluice_retries_total", "pool=\"web\"");
                print("kill -9 one of three", r, retries, String.format("out_of_rotation_ms=%.0f "
                        + "health_down_ms=%.0f back_after_restart_ms=%.0f", outOfRotation, healthDown, returned));

                // The budget admits a retry for each of the 4 clients at once (min_concurrent: 4): with the
                // default 3, a fourth request caught by the kill on a slow machine was refused its retry.
                assertThat(r.failed()).as("failed client requests %s, retry budget refusals %.0f", r.failures(),
                        sluice.metric("sluice_retry_budget_exhausted_total", "pool=\"web\"")).isZero();
                assertThat(r.connectionsLost()).isZero();
                assertThat(retries).as("requests caught by the kill were retried").isPositive();
                long bound = intervalMillis * unhealthyThreshold;
                assertThat(outOfRotation).as("out of rotation within interval × threshold").isLessThan(bound);
                assertThat(healthDown).as("health check down within interval × threshold").isLessThan(bound);
                // Back after healthy_threshold passes in a row, probed every unhealthy_interval (± 10 % jitter). The
                // first pass may come a little before the clock starts (the health check can reach the new process
                // before this test's own request does): 50 ms of slack, still far from a single pass (about 0).
                assertThat(returned).isGreaterThan((healthyThreshold - 1) * unhealthyIntervalMillis * 0.9 - 50)
                        .isLessThan(healthyThreshold * unhealthyIntervalMillis * 1.1 + 300);
                assertThat(sluice.metric("sluice_health_checks_total", "endpoint=\"" + c.address() + "\"",
                        "result=\"fail\"")).isGreaterThanOrEqualTo(unhealthyThreshold);
            } finally {
                restarted.close();
            }
        } finally {
            c.close();
        }
    }

    @Test
    void hungBackendCostsOnePerTryTimeoutAndTheRequestIsRetriedElsewhere() {
        long perTryMillis = 300;
        int attempts = 3;
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b");
             TestBackend hung = TestBackend.start("hung", (ctx, r) -> { });
             RunningSluice sluice = RunningSluice.start(listener("""
                  - name: web
                    endpoints: [ { address: %s }, { address: %s }, { address: %s } ]
                    retries: { attempts: %d, per_try_timeout: %dms, min_concurrent: 10, backoff_base: 2ms,
                               backoff_max: 10ms, on: [connect-failure, reset-before-response, timeout, 503] }
                """.formatted(a.address(), b.address(), hung.address(), attempts, perTryMillis)))) {
            // No health check and no outlier detection: every third request meets the hung backend.
            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 4, Duration.ZERO, 60);
            await().atMost(Duration.ofSeconds(30)).until(() -> load.sent() >= 60);
            LoadGenerator.Result r = load.stop();
            double retries = sluice.metric("sluice_retries_total", "pool=\"web\"");
            print("backend accepts, never answers", r, retries, "hung_backend_requests=" + hung.seen().size());

            assertThat(r.failed()).as("failed client requests %s", r.failures()).isZero();
            assertThat(hung.seen()).as("the hung backend got its share").hasSizeGreaterThan(5);
            assertThat(retries).isGreaterThanOrEqualTo(hung.seen().size());
            assertThat(r.maxLatencyNanos()).as("at least one request waited out a try")
                    .isGreaterThanOrEqualTo(perTryMillis * 1_000_000L)
                    .isLessThan(perTryMillis * attempts * 1_000_000L);
        }
    }

    @Test
    void backendFailingHalfItsRequestsIsEjectedAndRetriedAround() {
        SplittableRandom coin = new SplittableRandom(5);
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b");
             TestBackend flaky = TestBackend.start("flaky", (ctx, r) -> {
                 boolean fail;
                 synchronized (coin) {
                     fail = coin.nextBoolean();
                 }
                 TestBackend.respond(ctx, fail ? 503 : 200, fail ? "overloaded" : "flaky");
             });
             RunningSluice sluice = RunningSluice.start(listener("""
                  - name: web
                    endpoints: [ { address: %s }, { address: %s }, { address: %s } ]
                    outlier_detection: { consecutive_gateway_errors: 3, base_ejection: 300ms, max_ejection_percent: 34 }
                """.formatted(a.address(), b.address(), flaky.address())))) {
            // Default retries: 2 attempts on connect failure, reset, 502, 503, 504; 20 % budget, 3 minimum.
            // About 2.5 s of load: several ejections of growing length (300 ms, 600 ms, ...) and returns.
            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 4, Duration.ofMillis(2), 4000);
            await().atMost(Duration.ofSeconds(60)).until(() -> load.sent() >= 4000);
            LoadGenerator.Result r = load.stop();
            double retries = sluice.metric("sluice_retries_total", "pool=\"web\"");
            double ejections = sluice.metric("sluice_ejections_total", "endpoint=\"" + flaky.address() + "\"");
            print("503 on half the requests", r, retries, String.format("ejections=%.0f flaky_requests=%d "
                    + "budget_refusals=%.0f", ejections, flaky.seen().size(),
                    sluice.metric("sluice_retry_budget_exhausted_total", "pool=\"web\"")));

            assertThat(r.successPercent()).as("failures %s", r.failures()).isGreaterThanOrEqualTo(99.9);
            assertThat(ejections).isPositive();
            assertThat(retries).isPositive();
            assertThat(flaky.seen().size()).as("ejections keep the flaky backend under its third")
                    .isLessThan((int) (r.sent() / 3));
        }
    }
}
