package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.proxy.testing.LoadGenerator;
import io.sluice.proxy.testing.TestBackend;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sluice run} in a process of its own: SIGHUP re-reads the config file under load without failing a request,
 * a bad file is refused and the running config stays, and SIGTERM drains and exits 0.
 */
class ReloadSignalIT {

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static String config(int port, int admin, String backend) {
        return """
                access_log: { path: off }
                admin: { address: 127.0.0.1:%d }
                listeners:
                  - name: web
                    address: 127.0.0.1:%d
                    routes: [ { match: { path_prefix: / }, pool: web } ]
                pools:
                  - name: web
                    endpoints: [ { address: %s } ]
                """.formatted(admin, port, backend);
    }

    private static void signal(Process p, String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(p.pid())).inheritIO().start();
        assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(kill.exitValue()).isZero();
    }

    @Test
    void sighupReloadsUnderLoadAndRefusesABadFile(@TempDir Path dir) throws Exception {
        int port = freePort();
        int admin = freePort();
        Path file = dir.resolve("sluice.yaml");
        HttpClient http = HttpClient.newHttpClient();
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b")) {
            Files.writeString(file, config(port, admin, a.address()));
            String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // env --default-signal=HUP: SIGHUP may arrive ignored from the build (nohup); see RunProcessIT.
            Process sluice = new ProcessBuilder(List.of("env", "--default-signal=HUP", java, "-Xmx128m", "-cp",
                    classpath, Main.class.getName(),
                    "run", "-c", file.toString())).redirectErrorStream(true)
                    .redirectOutput(dir.resolve("sluice.log").toFile()).start();
            try {
                HttpRequest config = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + admin
                        + "/api/v1/config")).timeout(Duration.ofSeconds(5)).build();
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> http.send(config,
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
                LoadGenerator load = LoadGenerator.start(port, "/x", 2, Duration.ofMillis(2), 100_000);
                await().atMost(Duration.ofSeconds(10)).until(() -> load.count("a") > 50);

                Files.writeString(file, config(port, admin, b.address()));
                signal(sluice, "HUP");
                await().atMost(Duration.ofSeconds(10)).until(() -> load.count("b") > 50);
                long aAfterReload = load.count("a");

                Files.writeString(file, config(port, admin, b.address()).replace("routes:", "routez:"));
                signal(sluice, "HUP");
                long sent = load.sent();
                await().atMost(Duration.ofSeconds(10)).until(() -> load.sent() > sent + 200);
                assertThat(sluice.isAlive()).isTrue();
                assertThat(http.send(config, HttpResponse.BodyHandlers.ofString()).body())
                        .as("the running config stays").contains("\"port\":" + b.port()).doesNotContain("routez");
                LoadGenerator.Result r = load.stop();
                System.out.printf("[resilience] SIGHUP reloads: sent=%d failed=%d max_latency_ms=%.1f "
                        + "connections_lost=%d%n", r.sent(), r.failed(), r.maxLatencyMillis(), r.connectionsLost());

                assertThat(r.failed()).as("failures %s", r.failures()).isZero();
                assertThat(r.connectionsLost()).isZero();
                assertThat(load.count("a")).as("no request went to the old backend after the swap")
                        .isEqualTo(aAfterReload);
                assertThat(Files.readString(dir.resolve("sluice.log"))).contains("reload refused")
                        .contains("routez");

                signal(sluice, "TERM");
                assertThat(sluice.waitFor(20, TimeUnit.SECONDS)).isTrue();
                assertThat(sluice.exitValue()).isZero();
            } finally {
                sluice.destroyForcibly();
            }
        }
    }
}
