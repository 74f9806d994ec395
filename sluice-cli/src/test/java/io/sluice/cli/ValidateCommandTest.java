package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ValidateCommandTest {

    private record Result(int code, String out, String err) {
    }

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        CommandLine cli = Main.commandLine();
        cli.setOut(new java.io.PrintWriter(new PrintStream(out, true, StandardCharsets.UTF_8), true));
        cli.setErr(new java.io.PrintWriter(new PrintStream(err, true, StandardCharsets.UTF_8), true));
        int code = cli.execute(args);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyShippedExampleIsValid() throws IOException {
        List<String> examples;
        try (Stream<Path> files = Files.list(Path.of("..", "examples"))) {
            examples = files.filter(p -> p.toString().endsWith(".yaml")).map(Path::toString).sorted().toList();
        }
        assertThat(examples).isNotEmpty();
        String[] args = Stream.concat(Stream.of("validate", "-c"), examples.stream()).toArray(String[]::new);
        Result r = run(args);
        assertThat(r.err()).isEmpty();
        assertThat(r.code()).isZero();
        assertThat(r.out().lines()).hasSize(examples.size()).allMatch(l -> l.endsWith("ok"));
    }

    @Test
    void reportsEveryMistakeWithItsPathAndExits2(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, """
                io_threads: -1
                listeners:
                  - name: public
                    address: 0.0.0.0:8080
                    protocol: htp
                    routes:
                      - match: { path_prefix: v1/ }
                        pool: nowhere
                  - name: public
                    address: 0.0.0.0:8080
                    routes: [ { pool: web } ]
                pools:
                  - name: web
                    policy: fastest
                    wieght: 3
                    slow_strat: 10s
                    endpoints:
                      - { address: 10.0.0.1:70000 }
                      - { address: "10.0.0.2" , weight: 0 }
                    timeouts: { connect: 2 parsecs }
                    health_check: { interval: 1s, timeout: 5s }
                """);
        Result r = run("validate", "-c", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(
                "io_threads: -1 is out of range (0-1024)",
                "listeners[0].protocol: 'htp' is not one of",
                "listeners[0].routes[0].match.path_prefix: 'v1/' must start with '/'",
                "listeners[0].routes[0].pool: pool 'nowhere' is not defined (pools: web)",
                "listeners[1].name: 'public' is already the name of listeners[0]",
                "listeners[1].address: 0.0.0.0:8080 is already used by listeners[0].address",
                "pools[0].policy: 'fastest' is not a policy",
                "pools[0].wieght: unknown key; known keys here: name, policy",
                "pools[0].slow_strat: unknown key (did you mean 'slow_start'?)",
                "pools[0].endpoints[0].address: port 70000 is out of range (1-65535)",
                "pools[0].endpoints[1].address: '10.0.0.2' has no port",
                "pools[0].endpoints[1].weight: 0 is out of range (1-10000)",
                "pools[0].timeouts.connect: '2 parsecs' is not a duration",
                "pools[0].health_check.timeout: 5s is longer than the interval 1s");
        long errorLines = r.err().lines().filter(l -> l.startsWith("  ")).count();
        assertThat(errorLines).isGreaterThanOrEqualTo(14);
    }

    @Test
    void reportsYamlSyntaxErrorsWithTheirLine(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("syntax.yaml");
        Files.writeString(bad, "listeners:\n  - name: a\n    address: [oops\n");
        Result r = run("validate", "-c", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("line ").contains("YAML syntax error");
    }

    @Test
    void missingFileIsBadInput() {
        Result r = run("validate", "-c", "/nonexistent/sluice.yaml");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("file not found");
    }

    @Test
    void unknownOptionIsBadInput() {
        assertThat(run("validate", "--bogus").code()).isEqualTo(2);
        assertThat(run("--version").code()).isZero();
    }
}
