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

    @Test
    void requestsWritesOneCsvRowPerRequestForEachPolicy() throws Exception {
        Path t = trace("{\"timestamp\": 0, \"input_length\": 900, \"output_length\": 20, \"hash_ids\": [1, 2]}",
                "{\"timestamp\": 100, \"input_length\": 1200, \"output_length\": 30, \"hash_ids\": [1, 2, 3]}",
                "{\"timestamp\": 300, \"input_length\": 600, \"output_length\": 10, \"hash_ids\": [7, 8]}");
        Path out = dir.resolve("out");
        Run r = replay("--trace", t.toString(), "--fleet", "2xh100-llama3-8b", "--policies",
                "round-robin,inference", "--out", out.toString(), "--requests");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("requests-round-robin.csv", "requests-inference.csv");
        for (String policy : new String[] {"round-robin", "inference"}) {
            java.util.List<String> lines = Files.readAllLines(out.resolve("requests-" + policy + ".csv"));
            assertThat(lines).hasSize(4);
            assertThat(lines.get(0)).isEqualTo("id,arrival_ms,policy,endpoint,prompt_tokens,cached_tokens,"
                    + "best_cached_tokens,output_tokens,router_wait_ms,engine_wait_ms,ttft_ms,e2e_ms,outcome,floor_ttft_ms");
            assertThat(lines.subList(1, 4)).allSatisfy(l -> assertThat(l).contains("," + policy + ",", ",ok,"));
            // The first request met an idle fleet: its TTFT is its floor (alone, nothing cached), to the microsecond.
            String[] first = lines.stream().filter(l -> l.startsWith("1,")).findFirst().orElseThrow().split(",");
            assertThat(first[13]).isEqualTo(first[10]);
            assertThat(Double.parseDouble(first[13])).isPositive();
        }
        // The second request starts with the first one's 896 tokens (56 full blocks): the inference policy sends it
        // where they are cached; round-robin sends it elsewhere, and the oracle column shows what it missed.
        assertThat(Files.readAllLines(out.resolve("requests-inference.csv")))
                .anySatisfy(l -> assertThat(l).startsWith("2,100.000,inference,").contains(",1200,896,896,30,"));
        assertThat(Files.readAllLines(out.resolve("requests-round-robin.csv")))
                .anySatisfy(l -> assertThat(l).startsWith("2,100.000,round-robin,").contains(",1200,0,896,30,"));
    }

    @Test
    void burstGptAndBailianTracesReplayWithoutNamingTheirFormat() throws Exception {
        Path burst = dir.resolve("BurstGPT_without_fails_1.csv");
        Files.writeString(burst, "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
                + "5,ChatGPT,472,18,490,Conversation log\n6,GPT-4,1087,0,1087,API log\n");
        Run r = replay("--trace", burst.toString(), "--fleet", "1xh100-llama3-8b", "--policies", "inference");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("inference +2 ");
        Path bailian = dir.resolve("qwen_traceB_blksz_16.jsonl");
        Files.writeString(bailian, "{\"chat_id\": 1, \"parent_chat_id\": -1, \"timestamp\": 1.5, "
                + "\"input_length\": 600, \"output_length\": 10, \"type\": \"text\", \"turn\": 1, "
                + "\"hash_ids\": [" + "1,".repeat(37) + "2]}\n"
                + "{\"chat_id\": 2, \"parent_chat_id\": 1, \"timestamp\": 9.5, \"input_length\": 700, "
                + "\"output_length\": 10, \"type\": \"text\", \"turn\": 2, \"hash_ids\": [" + "1,".repeat(37)
                + "2,3,4,5,6,7,8,9]}\n");
        Path out = dir.resolve("bailian");
        r = replay("--trace", bailian.toString(), "--fleet", "2xh100-llama3-8b", "--policies", "inference",
                "--out", out.toString(), "--requests");
        assertThat(r.code()).as(r.err()).isZero();
        // The second turn arrives 8 s after the first (seconds, not milliseconds) and finds the first turn's 37 full
        // blocks cached.
        assertThat(Files.readAllLines(out.resolve("requests-inference.csv")))
                .anySatisfy(l -> assertThat(l).startsWith("2,8000.000,inference,").contains(",700,592,592,"));
    }

    @Test
    void theFloorIsPricedOnAServerOfTheRequestsModel() throws Exception {
        Path t = dir.resolve("two-models-sluice.jsonl");
        Files.writeString(t, "{\"timestamp\": 0, \"input_length\": 3000, \"output_length\": 5, "
                + "\"model\": \"qwen3-32b\"}\n{\"timestamp\": 60000, \"input_length\": 3000, "
                + "\"output_length\": 5, \"model\": \"llama-3-8b\"}\n");
        Path out = dir.resolve("two-models");
        Run r = replay("--trace", t.toString(), "--fleet", "1xh100-llama3-8b,1xh100-qwen3-32b-tp2",
                "--policies", "inference", "--out", out.toString(), "--requests");
        assertThat(r.code()).as(r.err()).isZero();
        java.util.List<String> rows = Files.readAllLines(out.resolve("requests-inference.csv"));
        assertThat(rows).hasSize(3);
        // Each met an idle fleet: its TTFT is its floor, on its own model's server (the 8B one would be faster).
        for (String row : rows.subList(1, 3)) {
            String[] cells = row.split(",");
            assertThat(cells[12]).isEqualTo("ok");
            assertThat(cells[13]).as(row).isEqualTo(cells[10]);
        }
    }

    @Test
    void anEmptyTraceOrAWrongGuessIsABadInputThatSaysHowTheFormatWasChosen() throws Exception {
        Path empty = dir.resolve("empty.csv");
        Files.writeString(empty, "TIMESTAMP,ContextTokens,GeneratedTokens\n");
        Run r = replay("--trace", empty.toString(), "--fleet", "1xh100-llama3-8b");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("empty.csv holds no request (read as azure, guessed from its first line");
        // A headerless BurstGPT file looks like an Azure one by its name.
        Path burst = dir.resolve("burst.csv");
        Files.writeString(burst, "5,ChatGPT,472,18,490,Conversation log\n");
        r = replay("--trace", burst.toString(), "--fleet", "1xh100-llama3-8b");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("burst.csv:1: expected 3 columns", "read as azure, guessed", "--format");
        r = replay("--trace", burst.toString(), "--format", "burstgpt", "--fleet", "1xh100-llama3-8b");
        assertThat(r.code()).as(r.err()).isZero();
    }

    @Test
    void requestsWithoutOutIsABadInput() {
        Run r = replay("--rate", "5", "--duration", "5s", "--fleet", "1xh100-llama3-8b", "--requests");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--requests needs --out");
        assertThat(r.out()).doesNotContain("TTFT p50");
    }

    @Test
    void poolConfigAppliesTheInferenceBlockAndIsRecordedInTheReport() throws Exception {
        Path settings = dir.resolve("pools.yaml");
        Files.writeString(settings, "# tiny central queue\ninference:\n  flow_control:\n    max_queue: 1\n");
        Path out = dir.resolve("pc");
        Run r = replay("--rate", "12", "--duration", "10s", "--input-tokens", "3000", "--output-tokens", "120",
                "--fleet", "1xa100-80g-llama3-8b", "--policies", "round-robin,inference", "--pool-config",
                settings.toString(), "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.err()).contains("note: round-robin takes no inference settings and runs with its defaults");
        assertThat(r.out()).contains("queue_full_503");
        String json = Files.readString(out.resolve("report.json"));
        assertThat(json).contains("\"pool_config\" : {", "\"max_queue\" : 1", "\"pool_config_applied\" : true",
                "\"pool_config_applied\" : false");
    }

    @Test
    void badPoolConfigIsABadInputNamingThePathAndValueBeforeAnyReplay() throws Exception {
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, "inference:\n  saturation:\n    kv_cache: 1.5\n");
        Run r = replay("--rate", "5", "--duration", "5s", "--fleet", "1xh100-llama3-8b", "--policies", "inference",
                "--pool-config", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains(bad + ": 1 error", "inference.saturation.kv_cache: 1.5 is out of range (0.05-1)");
        assertThat(r.out()).doesNotContain("TTFT p50");

        Path unknown = dir.resolve("unknown.yaml");
        Files.writeString(unknown, "listeners: []\n");
        Run u = replay("--rate", "5", "--duration", "5s", "--fleet", "1xh100-llama3-8b", "--policies", "inference",
                "--pool-config", unknown.toString());
        assertThat(u.code()).isEqualTo(2);
        assertThat(u.err()).contains("listeners: unknown key; known keys here: inference");

        Path good = dir.resolve("good.yaml");
        Files.writeString(good, "inference: { saturation: { queue: 3 } }\n");
        Run classic = replay("--rate", "5", "--duration", "5s", "--fleet", "1xh100-llama3-8b", "--policies",
                "round-robin", "--pool-config", good.toString());
        assertThat(classic.code()).isEqualTo(2);
        assertThat(classic.err()).contains("round-robin takes no inference settings");

        Run missing = replay("--rate", "5", "--duration", "5s", "--fleet", "1xh100-llama3-8b", "--pool-config",
                dir.resolve("nope.yaml").toString());
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.err()).contains("nope.yaml: 1 error", "file not found");
    }
}
