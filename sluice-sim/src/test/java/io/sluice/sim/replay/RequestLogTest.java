package io.sluice.sim.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.sim.engine.Faults;
import io.sluice.sim.trace.Generator;
import io.sluice.sim.trace.LengthSampler;
import io.sluice.sim.trace.RequestStream;
import io.sluice.sim.trace.Workload;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code requests-<policy>.csv}: one row per request, refused ones included, deterministic. */
class RequestLogTest {

    @TempDir
    Path dir;

    /** Independent requests with no shared prefix. */
    private static Supplier<RequestStream> poisson(double rate, int seconds, int prompt, int output) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(prompt, output), 0, 0,
                0, 1, Duration.ofSeconds(1), 0, 3);
        return () -> new Generator(w);
    }

    /** Multi-turn conversations over a few shared system prompts. */
    private static Supplier<RequestStream> conversations(double rate, int seconds, long seed) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(600, 60), 4, 2048, 0.9,
                3, Duration.ofSeconds(5), 0, seed);
        return () -> new Generator(w);
    }

    private static PolicyResult policy(ReplayReport r, String name) {
        return r.policies().stream().filter(p -> p.policy().equals(name)).findFirst().orElseThrow();
    }

    private static List<Map<String, String>> rows(Path file) throws Exception {
        List<String> lines = Files.readAllLines(file);
        assertThat(lines.get(0)).isEqualTo("id,arrival_ms,policy,endpoint,prompt_tokens,cached_tokens,"
                + "best_cached_tokens,output_tokens,router_wait_ms,engine_wait_ms,ttft_ms,e2e_ms,outcome,floor_ttft_ms");
        String[] header = lines.get(0).split(",");
        List<Map<String, String>> out = new ArrayList<>();
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split(",", -1);
            assertThat(cells).as(line).hasSize(header.length);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.length; i++) {
                row.put(header[i], cells[i]);
            }
            out.add(row);
        }
        return out;
    }

    /** A millisecond cell (three decimals) in microseconds. */
    private static long micros(String cell) {
        assertThat(cell).matches("\\d+\\.\\d{3}");
        return Long.parseLong(cell.replace(".", ""));
    }

    @Test
    void oneRowPerRequestInTheOrderTheyEndRefusedOnesIncluded() throws Exception {
        // One A100 under a 20 s burst of long prompts, after a 2 s warm-up: requests before the end of warm-up
        // are shed; the inference policy's central queue times some out (429); round-robin sends everything.
        ReplayConfig c = ReplayConfig.of(Fleet.parse("1xa100-80g-llama3-8b"), List.of("inference", "round-robin"))
                .withFaults(Faults.NONE.withWarmup(Duration.ofSeconds(2), 1, Duration.ZERO))
                .withRequestLog(Optional.of(dir));
        ReplayReport report = new Replay(c, poisson(30, 20, 3000, 120)).run("test");
        for (PolicyResult p : report.policies()) {
            List<Map<String, String>> rows = rows(RequestLog.file(dir, p.policy()));
            assertThat(rows).as(p.policy()).hasSize((int) p.requests());
            Set<Long> ids = new HashSet<>();
            Map<String, Long> outcomes = new HashMap<>();
            long lastEnd = 0;
            for (Map<String, String> row : rows) {
                ids.add(Long.parseLong(row.get("id")));
                outcomes.merge(row.get("outcome"), 1L, Long::sum);
                assertThat(row.get("policy")).isEqualTo(p.policy());
                assertThat(row.get("prompt_tokens")).isEqualTo("3000");
                long arrival = micros(row.get("arrival_ms"));
                long e2e = micros(row.get("e2e_ms"));
                // Rows come as requests end (times truncated to the microsecond: 1 µs of slack).
                assertThat(arrival + e2e).as(row.toString()).isGreaterThanOrEqualTo(lastEnd - 1);
                lastEnd = Math.max(lastEnd, arrival + e2e);
                if (row.get("endpoint").isEmpty()) {
                    // Never sent: no engine columns.
                    assertThat(row.get("outcome")).isNotEqualTo("ok");
                    assertThat(row.get("router_wait_ms") + row.get("cached_tokens") + row.get("ttft_ms")
                            + row.get("floor_ttft_ms")).isEmpty();
                    continue;
                }
                assertThat(row.get("endpoint")).isEqualTo("0");
                long cached = Long.parseLong(row.get("cached_tokens"));
                assertThat(Long.parseLong(row.get("best_cached_tokens"))).isGreaterThanOrEqualTo(cached)
                        .isLessThanOrEqualTo(3000);
                long ttft = micros(row.get("ttft_ms"));
                assertThat(micros(row.get("router_wait_ms")) + micros(row.get("engine_wait_ms")))
                        .isLessThanOrEqualTo(ttft);
                assertThat(ttft).isLessThanOrEqualTo(e2e);
                // The floor: alone, with the best prefix, on an idle server; a lower bound on the TTFT.
                long floor = micros(row.get("floor_ttft_ms"));
                assertThat(floor).as(row.toString()).isPositive().isLessThanOrEqualTo(ttft);
                if (row.get("outcome").equals("ok")) {
                    assertThat(row.get("output_tokens")).isEqualTo("120");
                }
            }
            assertThat(ids).hasSize(rows.size());
            Map<String, Long> expected = new HashMap<>(p.failures());
            expected.put("ok", p.completed());
            expected.put("shed", p.shed());
            expected.values().removeIf(v -> v == 0);
            assertThat(outcomes).as(p.policy()).isEqualTo(expected);
        }
        PolicyResult inference = policy(report, "inference");
        assertThat(inference.shed()).isPositive();
        assertThat(inference.failures().get("queue_timeout_429")).isPositive();
        // Requests that waited in the central queue show it in router_wait_ms.
        assertThat(rows(RequestLog.file(dir, "inference"))).anySatisfy(row -> {
            assertThat(row.get("outcome")).isEqualTo("ok");
            assertThat(micros(row.get("router_wait_ms"))).isGreaterThan(1_000_000);
        });
    }

    @Test
    void bestCachedShowsThePrefixARouterThatSawEveryCacheCouldHaveUsed() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("4xa100-80g-llama3-8b"), List.of("round-robin", "inference"))
                .withRequestLog(Optional.of(dir));
        new Replay(c, conversations(2, 60, 11)).run("test");
        long[] rr = sums(rows(RequestLog.file(dir, "round-robin")));
        long[] inf = sums(rows(RequestLog.file(dir, "inference")));
        // Round-robin scatters conversations: the fleet held more of their prefixes than it reused.
        assertThat(rr[1]).isGreaterThan(rr[0] + rr[0] / 10);
        assertThat(rr[2]).isPositive();
        // The inference policy reuses more, and comes closer to the oracle.
        assertThat(inf[0]).isGreaterThan(rr[0]);
        assertThat((double) inf[0] / inf[1]).isGreaterThan((double) rr[0] / rr[1]);
        assertThat(inf[2]).isLessThan(rr[2]);
    }

    @Test
    void aNextTurnFindsThePreviousAnswerCached() throws Exception {
        // Two-turn conversations of 200-token messages and 50-token answers on one idle A100: the first turn
        // leaves 249 computed tokens (its last answer token is sampled, never computed), 15 full blocks; the
        // second turn's 450-token prompt starts with them. Without the answer cached it would find the 12 full
        // blocks of the first prompt only. (A second turn comes a think time after the first one *arrived*, 20 s on
        // average, against well under a second of work: with this seed every one comes after the answer.)
        Workload w = new Workload(0.2, 1, Duration.ofSeconds(60), LengthSampler.fixed(200, 50), 0, 0, 0, 2,
                Duration.ofSeconds(20), 0, 5);
        ReplayConfig c = ReplayConfig.of(Fleet.parse("1xa100-80g-llama3-8b"), List.of("round-robin"))
                .withRequestLog(Optional.of(dir));
        new Replay(c, () -> new Generator(w)).run("test");
        List<Map<String, String>> rows = rows(RequestLog.file(dir, "round-robin"));
        List<Map<String, String>> second = rows.stream().filter(r -> r.get("prompt_tokens").equals("450")).toList();
        assertThat(second).hasSizeGreaterThan(3);
        assertThat(second).allSatisfy(r -> assertThat(r.get("cached_tokens")).isEqualTo("240"));
        assertThat(rows).filteredOn(r -> r.get("prompt_tokens").equals("200"))
                .allSatisfy(r -> assertThat(r.get("cached_tokens")).isEqualTo("0"));
    }

    /** Cached tokens, best cached tokens, rows where the best is larger. */
    private static long[] sums(List<Map<String, String>> rows) {
        long[] s = new long[3];
        for (Map<String, String> row : rows) {
            long cached = Long.parseLong(row.get("cached_tokens"));
            long best = Long.parseLong(row.get("best_cached_tokens"));
            assertThat(best).as(row.toString()).isGreaterThanOrEqualTo(cached);
            s[0] += cached;
            s[1] += best;
            s[2] += best > cached ? 1 : 0;
        }
        return s;
    }

    @Test
    void sameSeedWritesTheSameBytes() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xa100-80g-llama3-8b"), List.of("least-connections",
                "inference")).withSeed(9);
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        new Replay(c.withRequestLog(Optional.of(a)), conversations(6, 30, 5)).run("test");
        new Replay(c.withRequestLog(Optional.of(b)).withThreads(1), conversations(6, 30, 5)).run("test");
        for (String policy : c.policies()) {
            byte[] first = Files.readAllBytes(RequestLog.file(a, policy));
            assertThat(first.length).isGreaterThan(10_000);
            assertThat(Arrays.equals(first, Files.readAllBytes(RequestLog.file(b, policy)))).as(policy).isTrue();
        }
    }

    @Test
    void millisecondsHaveThreeDecimals() {
        StringBuilder b = new StringBuilder();
        RequestLog.millis(b, 0);
        b.append(' ');
        RequestLog.millis(b, 1_234_567_891L);
        b.append(' ');
        RequestLog.millis(b, 5_007_999L);
        b.append(' ');
        RequestLog.millis(b, 70_000L);
        assertThat(b).hasToString("0.000 1234.567 5.007 0.070");
    }
}
