package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ReplayCommandTest {

    @TempDir
    Path dir;

    private record Run(int code, String out, String err) {
    }

    private static Run replay(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new ReplayCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    private Path trace(String... lines) throws Exception {
        Path p = dir.resolve("trace.jsonl");
        Files.writeString(p, String.join("\n", lines) + "\n");
        return p;
    }

    @Test
    void replaysATraceAndWritesBothReports() throws Exception {
        Path t = trace("{\"timestamp\": 0, \"input_length\": 900, \"output_length\": 20, \"hash_ids\": [1, 2]}",
                "{\"timestamp\": 100, \"input_length\": 1200, \"output_length\": 30, \"hash_ids\": [1, 2, 3]}",
                "{\"timestamp\": 300, \"input_length\": 600, \"output_length\": 10, \"hash_ids\": [7, 8]}");
        Path out = dir.resolve("out");
        Run r = replay("--trace", t.toString(), "--fleet", "2xh100-llama3-8b", "--policies",
                "round-robin,least-connections", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("round-robin", "least-connections", "TTFT p50");
        assertThat(Files.readString(out.resolve("report.json"))).contains("\"throughput_rps\"", "\"fleet\"");
        assertThat(Files.readString(out.resolve("report.html"))).contains("<svg");
    }

    @Test
    void comparesAllFivePoliciesOutOfTheBox() throws Exception {
        Path out = dir.resolve("five");
        Run r = replay("--rate", "2", "--duration", "60s", "--input-tokens", "800", "--output-tokens", "40",
                "--prefix-groups", "4", "--prefix-tokens", "1024", "--prefix-share", "0.9", "--turns", "3",
                "--think-time", "5s", "--fleet", "2xa100-80g-llama3-8b", "--policies",
                "round-robin,least-connections,llm-d,sglang-cache-aware,inference", "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("round-robin", "least-connections", "llm-d", "sglang-cache-aware", "inference",
                "queued");
        // Every inference policy completed every request: none was shed for want of metrics.
        String json = Files.readString(out.resolve("report.json"));
        assertThat(json).contains("\"name\" : \"inference\"", "\"queued\"");
        assertThat(json).doesNotContain("\"completed\" : 0,");
        java.util.List<String> rows = r.out().lines()
                .filter(l -> l.matches("^(llm-d|sglang-cache-aware|inference) .*")).toList();
        assertThat(rows).hasSize(3);
        for (String line : rows) {
            assertThat(line.split("\\s+")[2]).as(line).isEqualTo("0");   // shed
        }
    }

    @Test
    void malformedLineIsABadInputWithItsLineNumberUnlessSkipped() throws Exception {
        Path t = trace("{\"timestamp\": 0, \"input_length\": 900, \"output_length\": 20}",
                "{\"timestamp\": 5, \"input_length\": 900}",
                "{\"timestamp\": 9, \"input_length\": 100, \"output_length\": 5}");
        Run bad = replay("--trace", t.toString(), "--fleet", "1xh100-llama3-8b");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("trace.jsonl:2: output_length is missing");
        Run skipped = replay("--trace", t.toString(), "--fleet", "1xh100-llama3-8b", "--skip-bad");
        assertThat(skipped.code()).as(skipped.err()).isZero();
        assertThat(skipped.out()).contains("skipped 1 malformed trace lines");
    }

    @Test
    void badOptionsAreBadInput() {
        assertThat(replay("--rate", "5", "--fleet", "2xv100-llama3-8b").code()).isEqualTo(2);
        assertThat(replay("--rate", "5", "--fleet", "2xh100-llama3-8b", "--policies", "nope").code()).isEqualTo(2);
        assertThat(replay("--fleet", "2xh100-llama3-8b").code()).isEqualTo(2);
        Run gen = replay("--rate", "5", "--duration", "20s", "--fleet", "2xh100-llama3-8b", "--spike", "4@5s+5s");
        assertThat(gen.code()).as(gen.err()).isZero();
        assertThat(gen.out()).contains("generated: poisson 5.0/s");
    }
}
