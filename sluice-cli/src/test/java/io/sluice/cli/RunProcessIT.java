package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.proxy.testing.TestBackend;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code sluice run} as a real process: it serves, reloads on SIGHUP, and drains and exits 0 on SIGTERM. */
class RunProcessIT {

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static Process sluice(Path config, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // env --default-signal=HUP: a build started under nohup passes SIGHUP on as ignored, and a JVM that starts
        // with SIGHUP ignored never delivers it (RunCommand warns about that); the test needs it delivered.
        return new ProcessBuilder("env", "--default-signal=HUP", java, "-jar", Path.of("target", "sluice.jar")
                .toString(), "run", "-c", config.toString()).redirectErrorStream(true).redirectOutput(log.toFile())
                .start();
    }

    private static HttpResponse<String> get(int port, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesReloadsAndStopsCleanlyOnSigterm(@TempDir Path dir) throws Exception {
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b")) {
            int port = freePort();
            int admin = freePort();
            Path config = dir.resolve("sluice.yaml");
            String template = """
                    access_log: { path: %s }
                    admin: { address: 127.0.0.1:%d }
                    listeners:
                      - name: web
                        address: 127.0.0.1:%d
                        routes: [ { match: { path_prefix: / }, pool: p } ]
                    pools:
                      - name: p
                        endpoints: [ { address: %s } ]
                    """;
            Path accessLog = dir.resolve("access.log");
            Files.writeString(config, template.formatted(accessLog, admin, port, a.address()));
            Path log = dir.resolve("sluice.out");
            Process p = sluice(config, log);
            try {
                await().atMost(Duration.ofSeconds(30)).ignoreExceptions()
                        .until(() -> get(admin, "/readyz").statusCode() == 200);
                assertThat(get(port, "/x").body()).isEqualTo("a");

                // SIGHUP re-reads the file.
                Files.writeString(config, template.formatted(accessLog, admin, port, b.address()));
                new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
                await().atMost(Duration.ofSeconds(10)).until(() -> get(port, "/x").body().equals("b"));

                // A bad file is refused; the running config stays.
                Files.writeString(config, "listeners: [ { name: web } ]\n");
                new ProcessBuilder("kill", "-HUP", Long.toString(p.pid())).start().waitFor(5, TimeUnit.SECONDS);
                await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(log).contains("reload refused"));
                assertThat(get(port, "/x").body()).isEqualTo("b");

                p.destroy(); // SIGTERM
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as(Files.readString(log)).isZero();
                assertThat(Files.readString(log)).contains("stopped cleanly");
                assertThat(Files.readString(accessLog)).contains("\"status\":200").contains("\"target\":\"/x\"");
            } finally {
                p.destroyForcibly();
            }
        }
    }

    @Test
    void badConfigExits2WithTheErrors(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad.yaml");
        Files.writeString(config, "listeners: [ { name: web, address: 127.0.0.1:99999, routes: [ { pool: p } ] } ]\n");
        Path log = dir.resolve("out");
        Process p = sluice(config, log);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isEqualTo(2);
        assertThat(Files.readString(log)).contains("listeners[0].address: port 99999 is out of range")
                .contains("listeners[0].routes[0].pool: pool 'p' is not defined");
    }

    @Test
    void portInUseExits1(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Path config = dir.resolve("busy.yaml");
            Files.writeString(config, """
                    admin: { enabled: false }
                    listeners: [ { name: web, address: 127.0.0.1:%d, routes: [ { pool: p } ] } ]
                    pools: [ { name: p, endpoints: [] } ]
                    """.formatted(taken.getLocalPort()));
            Path log = dir.resolve("out");
            Process p = sluice(config, log);
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isEqualTo(1);
            assertThat(Files.readString(log)).contains("cannot bind");
        }
        assertThat(new File("target/sluice.jar")).exists();
    }
}
