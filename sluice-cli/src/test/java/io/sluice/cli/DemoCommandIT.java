package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's first command: the demo starts, serves its own traffic without failures, and exits 0. */
class DemoCommandIT {

    @Test
    void demoServesTrafficAndStopsAfterItsDuration(@TempDir Path dir) throws Exception {
        Path log = dir.resolve("demo.out");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-jar", Path.of("target", "sluice.jar").toString(), "demo",
                "--duration", "8s", "--port", "0", "--admin-port", "0", "--summary-every", "2s", "--rate", "6",
                "--replicas", "3").redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        } finally {
            p.destroyForcibly();
        }
        String out = Files.readString(log);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("Sluice demo is running.", "dashboard  http://127.0.0.1:", "curl -s http://127.0.0.1:");
        Matcher last = null;
        Matcher m = Pattern.compile("ok (\\d+)  failed (\\d+)").matcher(out);
        long ok = 0;
        long failed = -1;
        while (m.find()) {
            ok = Long.parseLong(m.group(1));
            failed = Long.parseLong(m.group(2));
            last = m;
        }
        assertThat(last).as("a summary line").isNotNull();
        assertThat(ok).isGreaterThan(10);
        assertThat(failed).isZero();
    }
}
