package io.sluice.proxy.health;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import io.sluice.health.HealthChecker;
import io.sluice.proxy.testing.DeadPort;
import io.sluice.proxy.testing.LoadGenerator;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Active health checks through the real proxy: warm-up, removal, readiness, reloads, TCP probes and metrics. */
class HealthCheckIT {

    private static final String CHECK = "health_check: { type: http, path: /health, interval: 200ms, "
            + "unhealthy_interval: 100ms, timeout: 100ms, healthy_threshold: %d, unhealthy_threshold: 2 }";

    private static String config(String pools) {
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /spare/ }, pool: spare }
                      - { match: { path_prefix: / }, pool: web }
                pools:
                """ + pools;
    }

    /** A backend whose {@code /health} answers 503 while {@code healthy} is false, and counts its probes. */
    private static final class Checked implements AutoCloseable {
        final AtomicBoolean healthy;
        final AtomicInteger passes = new AtomicInteger();
        /** What it answered, in order: pass, fail (probes) and traffic (anything else). */
        final List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        final TestBackend backend;

        Checked(String name, boolean initiallyHealthy) {
            this.healthy = new AtomicBoolean(initiallyHealthy);
            this.backend = TestBackend.start(name, (ctx, r) -> {
                if (r.uri().equals("/health")) {
                    boolean ok = healthy.get();
                    if (ok) {
                        passes.incrementAndGet();
                    }
                    events.add(ok ? "pass" : "fail");
                    TestBackend.respond(ctx, ok ? 200 : 503, ok ? "ok" : "warming up");
                } else {
                    events.add("traffic");
                    TestBackend.respond(ctx, 200, name);
                }
            });
        }

        String address() {
            return backend.address();
        }

        long probes() {
            return backend.seen().stream().filter(r -> r.uri().equals("/health")).count();
        }

        @Override
        public void close() {
            backend.close();
        }
    }

    private static Member member(RunningSluice sluice, String pool, String address) {
        return sluice.server().runtime().pool(pool).orElseThrow().pool().member(Address.parse(address))
                .orElseThrow();
    }

    @Test
    void newEndpointTakesTrafficOnlyAfterPassingAndIsNotProbedOnceRemoved() {
        try (Checked a = new Checked("a", true); Checked fresh = new Checked("fresh", false);
             RunningSluice sluice = RunningSluice.start(config("""
                  - name: web
                    endpoints: [ { address: %s } ]
                    %s
                  - name: spare
                    optional: true
                    endpoints: []
                """.formatted(a.address(), CHECK.formatted(2))))) {
            sluice.awaitReady();
            LoadGenerator load = LoadGenerator.start(sluice.port("web"), "/x", 2, Duration.ofMillis(2), 100_000);
            HttpResponse<String> added = sluice.admin("POST", "/api/v1/pools/web/endpoints",
                    "{\"address\":\"" + fresh.address() + "\"}");
            assertThat(added.statusCode()).isEqualTo(201);
            assertThat(added.body()).contains("waiting for its health check");

            // It fails its first probes (503 while warming up), then passes.
            await().atMost(Duration.ofSeconds(5)).until(() -> fresh.probes() >= 3);
            assertThat(fresh.backend.seen()).as("no traffic while failing").allMatch(r -> r.uri().equals("/health"));
            fresh.healthy.set(true);
            Member m = member(sluice, "web", fresh.address());
            await().atMost(Duration.ofSeconds(5)).until(() -> m.usable(System.nanoTime()));
            await().atMost(Duration.ofSeconds(5)).until(() -> load.count("fresh") > 10);
            LoadGenerator.Result r = load.stop();
            assertThat(r.failed()).isZero();
            List<String> before = fresh.events.subList(0, fresh.events.indexOf("traffic"));
            assertThat(before).as("failed its first probes").startsWith("fail", "fail", "fail");
            assertThat(before.stream().filter("pass"::equals).count()).as("traffic only after healthy_threshold "
                    + "passes").isGreaterThanOrEqualTo(2);
            assertThat(sluice.metric("sluice_health_checks_total", "endpoint=\"" + fresh.address() + "\"",
                    "result=\"fail\"")).isGreaterThanOrEqualTo(3);

            HttpResponse<String> removed = sluice.admin("DELETE", "/api/v1/pools/web/endpoints/" + fresh.address(),
                    null);
            assertThat(removed.statusCode()).isEqualTo(200);
            long probesAtRemoval = fresh.probes();
            await().during(Duration.ofMillis(600)).atMost(Duration.ofSeconds(2))
                    .until(() -> fresh.probes() <= probesAtRemoval + 1);
            assertThat(sluice.metric("sluice_health_checks_total", "endpoint=\"" + fresh.address() + "\""))
                    .as("a removed endpoint leaves the metrics").isZero();
        }
    }

    @Test
    void readyzWaitsForEveryRequiredPoolButNotForOptionalOnes() {
        try (Checked a = new Checked("a", true); Checked down = new Checked("down", false)) {
            String pools = """
                  - name: web
                    endpoints: [ { address: %s } ]
                    %s
                  - name: spare
                    optional: %s
                    endpoints: [ { address: %s } ]
                    %s
                """;
            try (RunningSluice sluice = RunningSluice.start(config(pools.formatted(a.address(), CHECK.formatted(1),
                    "false", down.address(), CHECK.formatted(1))))) {
                await().atMost(Duration.ofSeconds(5)).until(() -> down.probes() >= 2
                        && member(sluice, "web", a.address()).usable(System.nanoTime()));
                HttpResponse<String> notReady = sluice.admin("GET", "/readyz", null);
                assertThat(notReady.statusCode()).isEqualTo(503);
                assertThat(notReady.body()).contains("pool spare has no usable endpoint").doesNotContain("pool web");
                assertThat(sluice.metric("sluice_pool_mode_changes_total", "pool=\"web\"", "mode=\"normal\""))
                        .as("web left its initial empty mode when its endpoint passed").isEqualTo(1);

                sluice.writeConfig(config(pools.formatted(a.address(), CHECK.formatted(1), "true", down.address(),
                        CHECK.formatted(1))));
                assertThat(sluice.reload().statusCode()).isEqualTo(200);
                assertThat(sluice.admin("GET", "/readyz", null).statusCode()).as("optional pools do not count")
                        .isEqualTo(200);
            }
        }
    }

    @Test
    void reloadKeepsAnUnhealthyEndpointOutUntilItPassesHealthyThreshold() {
        try (Checked a = new Checked("a", true); Checked flaky = new Checked("flaky", true)) {
            String pools = """
                  - name: web
                    endpoints: [ { address: %s }, { address: %s } ]
                    %s
                  - name: spare
                    optional: true
                    endpoints: []
                """;
            try (RunningSluice sluice = RunningSluice.start(config(pools.formatted(a.address(), flaky.address(),
                    CHECK.formatted(3))))) {
                Member m = member(sluice, "web", flaky.address());
                await().atMost(Duration.ofSeconds(5)).until(() -> m.usable(System.nanoTime()));
                flaky.healthy.set(false);
                await().atMost(Duration.ofSeconds(5)).until(() -> !m.checkPassing());
                HealthChecker before = sluice.server().health().checker(m).orElseThrow();
                long probesBefore = before.probes();

                sluice.writeConfig(config(pools.formatted(a.address(), flaky.address(), CHECK.formatted(3)
                        .replace("interval: 200ms", "interval: 250ms"))));
                assertThat(sluice.reload().statusCode()).isEqualTo(200);
                HealthChecker after = sluice.server().health().checker(m).orElseThrow();
                assertThat(after).isNotSameAs(before);
                assertThat(after.state()).isEqualTo(HealthChecker.State.UNHEALTHY);
                assertThat(after.probes()).isGreaterThanOrEqualTo(probesBefore);
                assertThat(member(sluice, "web", flaky.address())).as("the member is kept").isSameAs(m);

                flaky.passes.set(0);
                flaky.healthy.set(true);
                await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(5))
                        .until(() -> m.usable(System.nanoTime()));
                assertThat(flaky.passes.get()).as("healthy_threshold passes, counted across the reload")
                        .isGreaterThanOrEqualTo(3);
            }
        }
    }

    @Test
    void tcpCheckFollowsWhetherTheEndpointAcceptsConnections() {
        DeadPort dead = DeadPort.reserve();
        int port = dead.port();
        try (TestBackend a = TestBackend.start("a");
             RunningSluice sluice = RunningSluice.start(config("""
                  - name: web
                    endpoints: [ { address: %s }, { address: 127.0.0.1:%d } ]
                    health_check: { type: tcp, interval: 100ms, timeout: 50ms, healthy_threshold: 1,
                                    unhealthy_threshold: 1 }
                  - name: spare
                    optional: true
                    endpoints: []
                """.formatted(a.address(), port)))) {
            sluice.awaitReady();
            Member late = member(sluice, "web", "127.0.0.1:" + port);
            await().atMost(Duration.ofSeconds(5)).until(() -> sluice.server().health().checker(late)
                    .map(c -> c.failures() >= 2).orElse(false));
            assertThat(late.usable(System.nanoTime())).isFalse();
            for (int i = 0; i < 10; i++) {
                assertThat(sluice.get("web", "/x").body()).isEqualTo("a");
            }
            dead.close();
            try (TestBackend b = TestBackend.start("b", port, (ctx, r) -> TestBackend.respond(ctx, 200, "b"))) {
                await().atMost(Duration.ofSeconds(5)).until(() -> late.usable(System.nanoTime()));
                await().atMost(Duration.ofSeconds(5)).until(() -> sluice.get("web", "/x").body().equals("b"));
                assertThat(b.seen()).as("a TCP probe sends no request").allMatch(r -> r.uri().equals("/x"));
            }
        }
    }
}
