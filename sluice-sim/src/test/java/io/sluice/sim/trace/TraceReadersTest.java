package io.sluice.sim.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.inference.PromptHasher;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceReadersTest {

    @TempDir
    Path dir;

    private Path file(String name, String... lines) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, String.join("\n", lines) + "\n");
        return p;
    }

    private static List<TraceRequest> readAll(RequestStream s) {
        List<TraceRequest> out = new ArrayList<>();
        try (s) {
            s.forEachRemaining(out::add);
        }
        return out;
    }

    @Test
    void readsMooncakeLinesAndExpandsTheir512TokenBlocks() throws Exception {
        Path p = file("m.jsonl",
                "{\"timestamp\": 1000, \"input_length\": 1100, \"output_length\": 52, \"hash_ids\": [46, 47, 48]}",
                "{\"timestamp\": 1500, \"input_length\": 700, \"output_length\": 9, \"hash_ids\": [46, 99]}");
        List<TraceRequest> rs = readAll(TraceFormat.MOONCAKE.open(p, false));
        assertThat(rs).hasSize(2);
        assertThat(rs.get(0).arrivalNanos()).isZero();
        assertThat(rs.get(1).arrivalNanos()).isEqualTo(500_000_000L);
        long[] a = rs.get(0).blockHashes();
        long[] b = rs.get(1).blockHashes();
        assertThat(a).hasSize(1100 / 16);
        assertThat(b).hasSize(700 / 16);
        // Id 46 is shared: its 32 blocks of 16 tokens match; then the chains part.
        assertThat(PromptHasher.commonPrefix(a, b)).isEqualTo(32);
    }

    @Test
    void malformedLineNamesFileAndLineOrIsSkippedAndCounted() throws Exception {
        Path p = file("bad.jsonl",
                "{\"timestamp\": 0, \"input_length\": 10, \"output_length\": 5}",
                "{\"timestamp\": 1, \"input_length\": \"ten\", \"output_length\": 5}",
                "not json",
                "{\"timestamp\": 2, \"input_length\": 10, \"output_length\": 5}");
        assertThatThrownBy(() -> readAll(TraceFormat.MOONCAKE.open(p, false)))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageStartingWith("bad.jsonl:2: input_length must be a whole number")
                .satisfies(e -> assertThat(((TraceFormatException) e).line()).isEqualTo(2));
        RequestStream skipping = TraceFormat.MOONCAKE.open(p, true);
        assertThat(readAll(skipping)).hasSize(2);
        assertThat(skipping.skipped()).isEqualTo(2);
    }

    @Test
    void arrivalsGoingBackInTimeAreAnError() throws Exception {
        Path p = file("t.jsonl", "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1}",
                "{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 1}");
        assertThatThrownBy(() -> readAll(TraceFormat.MOONCAKE.open(p, false))).hasMessageContaining(":2:")
                .hasMessageContaining("back in time");
    }

    @Test
    void readsAzureCsvWithRelativeTimes() throws Exception {
        Path p = file("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2023-11-16 18:15:46.6805900,374,44", "2023-11-16 18:15:50.9951690,396,109",
                "2023-11-16 18:15:51,12,3");
        List<TraceRequest> rs = readAll(TraceFormat.AZURE.open(p, false));
        assertThat(rs).extracting(TraceRequest::promptTokens).containsExactly(374, 396, 12);
        assertThat(rs.get(1).arrivalNanos()).isEqualTo(4_314_579_000L);
        assertThat(rs.get(0).blockHashes()).isEmpty();
        Path bad = file("b.csv", "TIMESTAMP,ContextTokens,GeneratedTokens", "2023-11-16 18:15:46,374");
        assertThatThrownBy(() -> readAll(TraceFormat.AZURE.open(bad, false))).hasMessage(
                "b.csv:2: expected 3 columns TIMESTAMP,ContextTokens,GeneratedTokens");
    }

    @Test
    void readsAzureCsvByHeaderNamesSoTheMultimodalTraceReadsToo() throws Exception {
        Path p = file("lmm.csv", "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens",
                "2025-05-06 00:00:00.0000000,2,1500,40", "2025-05-06 00:00:00.5000000,0,300,7");
        List<TraceRequest> rs = readAll(TraceFormat.AZURE.open(p, false));
        assertThat(rs).extracting(TraceRequest::promptTokens).containsExactly(1500, 300);
        assertThat(rs).extracting(TraceRequest::outputTokens).containsExactly(40, 7);
        assertThat(rs.get(1).arrivalNanos()).isEqualTo(500_000_000L);
        Path noInput = file("x.csv", "TIMESTAMP,NumImages,GeneratedTokens", "2025-05-06 00:00:00,2,40");
        assertThatThrownBy(() -> readAll(TraceFormat.AZURE.open(noInput, true)))
                .hasMessage("x.csv:1: header has no 'ContextTokens' column: TIMESTAMP,NumImages,GeneratedTokens");
    }

    @Test
    void readsThe2024AzureTimestampsWithTheirOffsetAndZeroOutputs() throws Exception {
        Path p = file("AzureLLMInferenceTrace_code_1week.csv", "TIMESTAMP,ContextTokens,GeneratedTokens",
                "2024-05-10 00:00:00.009930+00:00,2048,28", "2024-05-10 02:00:01.5+02:00,300,0",
                "2024-05-10 00:00:02Z,10,3");
        List<TraceRequest> rs = readAll(TraceFormat.AZURE.open(p, false));
        // 02:00:01.5 at +02:00 is 00:00:01.5 UTC.
        assertThat(rs).extracting(TraceRequest::arrivalNanos)
                .containsExactly(0L, 1_490_070_000L, 1_990_070_000L);
        assertThat(rs).extracting(TraceRequest::outputTokens).containsExactly(28, 1, 3);
    }

    @Test
    void aByteOrderMarkAndBlankLinesBeforeTheHeaderAreNoHeaderProblem() throws Exception {
        Path azure = file("bom.csv", "\uFEFFTIMESTAMP,NumImages,ContextTokens,GeneratedTokens",
                "2025-05-06 00:00:00,1,100,7");
        assertThat(TraceFormat.guess(azure)).isEqualTo(TraceFormat.AZURE);
        assertThat(readAll(TraceFormat.AZURE.open(azure, false))).extracting(TraceRequest::promptTokens)
                .containsExactly(100);
        Path burst = file("bom2.csv", "", "\uFEFFTimestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "1,ChatGPT,5,6,11,Conversation log");
        assertThat(TraceFormat.guess(burst)).isEqualTo(TraceFormat.BURSTGPT);
        assertThat(readAll(TraceFormat.BURSTGPT.open(burst, false))).extracting(TraceRequest::outputTokens)
                .containsExactly(6);
    }

    @Test
    void aTimestampTooLargeForItsUnitIsABadLineNotAnOverflow() throws Exception {
        Path p = file("q.jsonl", "{\"chat_id\": 1, \"parent_chat_id\": -1, \"timestamp\": 1715299200000, "
                + "\"input_length\": 40, \"output_length\": 1}");
        assertThatThrownBy(() -> readAll(TraceFormat.BAILIAN.open(p, false)))
                .hasMessage("q.jsonl:1: timestamp 1.7152992E12 is too large for its unit (seconds)");
        Path empty = dir.resolve("empty.jsonl.gz");
        Files.write(empty, new byte[0]);
        assertThatThrownBy(() -> readAll(TraceFormat.MOONCAKE.open(empty, false)))
                .hasMessageContaining("cannot read trace").hasMessageContaining("EOFException");
    }

    @Test
    void readsBurstGptCsvInSecondsAndReplaysFailedRequestsAsOneTokenAnswers() throws Exception {
        Path p = file("BurstGPT_1.csv", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,472,18,490,Conversation log", "45,GPT-4,1087,0,1087,API log",
                "45.5,ChatGPT,70,210,280,Conversation log");
        List<TraceRequest> rs = readAll(TraceFormat.BURSTGPT.open(p, false));
        assertThat(rs).extracting(TraceRequest::promptTokens).containsExactly(472, 1087, 70);
        assertThat(rs).extracting(TraceRequest::outputTokens).containsExactly(18, 1, 210);
        assertThat(rs).extracting(TraceRequest::arrivalNanos).containsExactly(0L, 40_000_000_000L, 40_500_000_000L);
        assertThat(rs.get(0).model()).isEmpty();
        Path bad = file("b2.csv", "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
                "5,ChatGPT,0,18,18,Conversation log", "6,ChatGPT,abc,18,18,Conversation log",
                "7,ChatGPT,10,18,28,Conversation log");
        assertThatThrownBy(() -> readAll(TraceFormat.BURSTGPT.open(bad, false)))
                .hasMessage("b2.csv:2: Request tokens must be >= 1: 0");
        RequestStream skipping = TraceFormat.BURSTGPT.open(bad, true);
        assertThat(readAll(skipping)).hasSize(1);
        assertThat(skipping.skipped()).isEqualTo(2);
    }

    @Test
    void readsBailianLinesInSecondsWith16TokenBlocksAndConversationsAsSessions() throws Exception {
        Path p = file("qwen_traceA_blksz_16.jsonl",
                "{\"chat_id\": 159, \"parent_chat_id\": -1, \"timestamp\": 61.114, \"input_length\": 40, "
                        + "\"output_length\": 132, \"type\": \"text\", \"turn\": 1, \"hash_ids\": [7, 8, 9]}",
                "{\"chat_id\": 160, \"parent_chat_id\": -1, \"timestamp\": 61.5, \"input_length\": 40, "
                        + "\"output_length\": 0, \"type\": \"search\", \"turn\": 1, \"hash_ids\": [5, 8, 9]}",
                "{\"chat_id\": 201, \"parent_chat_id\": 159, \"timestamp\": 70.114, \"input_length\": 200, "
                        + "\"output_length\": 20, \"type\": \"text\", \"turn\": 2, \"hash_ids\": [7, 8, 9, 10]}",
                "{\"chat_id\": 305, \"parent_chat_id\": 201, \"timestamp\": 80.114, \"input_length\": 300, "
                        + "\"output_length\": 20, \"type\": \"text\", \"turn\": 3, \"hash_ids\": [7, 8]}");
        assertThat(TraceFormat.guess(p)).isEqualTo(TraceFormat.BAILIAN);
        List<TraceRequest> rs = readAll(TraceFormat.BAILIAN.open(p, false));
        assertThat(rs).extracting(TraceRequest::arrivalNanos)
                .containsExactly(0L, 386_000_000L, 9_000_000_000L, 19_000_000_000L);
        // Turns 2 and 3 belong to chat 159's conversation; chat 160 is another one.
        assertThat(rs).extracting(r -> r.session().orElseThrow())
                .containsExactly("chat-159", "chat-160", "chat-159", "chat-159");
        assertThat(rs.get(1).outputTokens()).isEqualTo(1);
        // 16-token blocks, chained: ids 8 and 9 after 5 are not the prefix 7, 8, 9.
        long[] a = rs.get(0).blockHashes();
        long[] b = rs.get(1).blockHashes();
        long[] c = rs.get(2).blockHashes();
        assertThat(a).hasSize(2);
        assertThat(b[1]).isNotEqualTo(a[1]);
        assertThat(c).startsWith(a[0], a[1]).hasSize(4);
    }

    @Test
    void guessesTheFormatFromTheFirstLineAndReadsGzip() throws Exception {
        Path az = dir.resolve("trace.csv.gz");
        try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(az))) {
            out.write("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46,374,44\n".getBytes());
        }
        assertThat(TraceFormat.guess(az)).isEqualTo(TraceFormat.AZURE);
        assertThat(readAll(TraceFormat.AZURE.open(az, false))).extracting(TraceRequest::promptTokens)
                .containsExactly(374);
        assertThat(TraceFormat.guess(file("data.txt", "Timestamp,Model,Request tokens,Response tokens,"
                + "Total tokens,Log Type"))).isEqualTo(TraceFormat.BURSTGPT);
        assertThat(TraceFormat.guess(file("t.jsonl", "", "{\"timestamp\": 0, \"input_length\": 5, "
                + "\"output_length\": 1}"))).isEqualTo(TraceFormat.MOONCAKE);
        assertThat(TraceFormat.guess(file("mine.jsonl", "{\"timestamp\": 0, \"input_length\": 5, "
                + "\"output_length\": 1, \"block_size\": 16}"))).isEqualTo(TraceFormat.SLUICE);
        // block_size is optional in Sluice's format: any key only it has decides.
        assertThat(TraceFormat.guess(file("mine2.jsonl", "{\"timestamp\": 0, \"input_length\": 5, "
                + "\"output_length\": 1, \"hash_ids\": [1], \"session\": \"s\"}"))).isEqualTo(TraceFormat.SLUICE);
        assertThat(TraceFormat.guess(file("empty.csv", ""))).isEqualTo(TraceFormat.AZURE);
        assertThatThrownBy(() -> TraceFormat.parse("sharegpt")).hasMessageContaining("bailian, burstgpt");
    }

    @Test
    void sluiceFormatCarriesRequestMetadataAndRejectsUnknownKeys() throws Exception {
        Path p = file("s.jsonl", "{\"timestamp\": 0, \"input_length\": 64, \"output_length\": 8, "
                + "\"hash_ids\": [1, 2, 3, 4], \"block_size\": 16, \"model\": \"llama-3-8b\", \"adapter\": \"sql\", "
                + "\"tenant\": \"acme\", \"priority\": 2, \"session\": \"s-1\", \"slo_ttft_ms\": 500}",
                "{\"timestamp\": 1, \"input_length\": 64, \"output_length\": 8, \"sesion\": \"typo\"}");
        RequestStream s = TraceFormat.SLUICE.open(p, true);
        List<TraceRequest> rs = readAll(s);
        TraceRequest r = rs.get(0);
        assertThat(r.adapter()).contains("sql");
        assertThat(r.session()).contains("s-1");
        assertThat(r.tenant()).isEqualTo("acme");
        assertThat(r.priority()).isEqualTo(2);
        assertThat(r.sloTtftMillis()).isEqualTo(500);
        assertThat(r.blockHashes()).hasSize(4);
        assertThat(s.skipped()).isEqualTo(1);
        assertThatThrownBy(() -> readAll(TraceFormat.SLUICE.open(p, false))).hasMessageContaining(
                "unknown key 'sesion'");
    }

    @Test
    void speedupAndSpikeStretchTimeAndLimitStops() {
        List<TraceRequest> base = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            base.add(TraceRequest.of(i * 1_000_000_000L, 10, 10));
        }
        RequestStream s = new TimeWarp(list(base), 2, Optional.of(new Spike(4, Duration.ofSeconds(10),
                Duration.ofSeconds(5))), 70);
        List<TraceRequest> out = readAll(s);
        assertThat(out).hasSize(70);
        // 2x before the spike: one request per 0.5 s until t=10 s (20 requests), then 8x: 0.125 s apart for 5 s.
        assertThat(out.get(20).arrivalNanos()).isEqualTo(10_000_000_000L);
        assertThat(out.get(21).arrivalNanos() - out.get(20).arrivalNanos()).isEqualTo(125_000_000L);
        assertThat(out.get(60).arrivalNanos()).isEqualTo(15_000_000_000L);
        assertThat(out.get(69).arrivalNanos() - out.get(68).arrivalNanos()).isEqualTo(500_000_000L);
        assertThat(Spike.parse("8@10m+2m")).isEqualTo(new Spike(8, Duration.ofMinutes(10), Duration.ofMinutes(2)));
        assertThatThrownBy(() -> Spike.parse("8x")).hasMessageContaining("FACTOR@START+DURATION");
    }

    private static RequestStream list(List<TraceRequest> rs) {
        var it = rs.iterator();
        return new RequestStream() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public TraceRequest next() {
                return it.next();
            }

            @Override
            public long skipped() {
                return 0;
            }

            @Override
            public String describe() {
                return "list";
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void generatorIsDeterministicAndSessionsResendTheirHistory() {
        Workload w = new Workload(10, 1, Duration.ofSeconds(60), LengthSampler.fixed(200, 50), 2, 64, 0.5, 3,
                Duration.ofSeconds(5), 2, 9);
        List<TraceRequest> a = readAll(new Generator(w));
        List<TraceRequest> b = readAll(new Generator(w));
        assertThat(a).hasSizeGreaterThan(500);
        for (int i = 0; i < a.size(); i++) {
            assertThat(a.get(i).arrivalNanos()).isEqualTo(b.get(i).arrivalNanos());
            assertThat(a.get(i).blockIds()).isEqualTo(b.get(i).blockIds());
        }
        for (int i = 1; i < a.size(); i++) {
            assertThat(a.get(i).arrivalNanos()).isGreaterThanOrEqualTo(a.get(i - 1).arrivalNanos());
        }
        TraceRequest first = a.stream().filter(r -> r.session().isPresent()).findFirst().orElseThrow();
        TraceRequest second = a.stream().filter(r -> r.session().equals(first.session()) && r != first)
                .findFirst().orElseThrow();
        assertThat(second.promptTokens()).isGreaterThan(first.promptTokens() + first.outputTokens());
        // The next prompt repeats the previous prompt and answer: their ids (so the engine's cached answer) match.
        assertThat(PromptHasher.commonPrefix(first.sequenceHashes(), second.blockHashes()))
                .isEqualTo((first.promptTokens() + first.outputTokens()) / 16);
        assertThat(first.sequenceHashes()).startsWith(first.blockHashes());
        assertThat(a).anySatisfy(r -> assertThat(r.adapter()).isPresent());
        double seconds = a.get(a.size() - 1).arrivalNanos() / 1e9;
        long fresh = a.stream().map(TraceRequest::session).distinct().count();
        assertThat(fresh / seconds).isBetween(7.0, 13.0);
    }

    @Test
    void lengthSamplerReadsDistributionCsv() throws Exception {
        Path p = file("l.csv", "num_prefill_tokens,num_decode_tokens,num_total_tokens,pd_ratio", "74,918,992,0.08",
                "100,10,110,10");
        LengthSampler s = LengthSampler.fromCsv(p);
        assertThat(s.meanPrompt()).isEqualTo(87);
        Path bad = file("lb.csv", "num_prefill_tokens,num_decode_tokens", "x,1");
        assertThatThrownBy(() -> LengthSampler.fromCsv(bad)).hasMessage("lb.csv:2: token counts must be numbers");
    }
}
