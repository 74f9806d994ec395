package io.sluice.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.inference.PromptHasher;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EngineTest {

    private static final Profile A100 = Profile.of("a100-80g-llama3-8b");

    private static long[] hashes(String seed, int blocks) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < blocks; i++) {
            text.append(String.format("%-64s", seed + "-" + i));
        }
        return PromptHasher.hash(text.toString());
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = new long[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void runningBatchNeverExceedsMaxNumSeqs() {
        EngineDriver d = new EngineDriver(A100.withMaxNumSeqs(4));
        for (int i = 0; i < 10; i++) {
            d.submit(i, 100, 20, new long[0]);
        }
        d.step();
        assertThat(d.engine.running()).isEqualTo(4);
        assertThat(d.engine.waiting()).isEqualTo(6);
        for (int i = 0; i < 200 && d.step(); i++) {
            assertThat(d.engine.running()).isLessThanOrEqualTo(4);
        }
        assertThat(d.recorder.finished).hasSize(10);
    }

    @Test
    void longPromptIsPrefilledInChunksOfTheTokenBudget() {
        EngineDriver d = new EngineDriver(A100.withMaxNumBatchedTokens(512));
        d.submit(1, 2000, 3, new long[0]);
        d.step();
        d.step();
        d.step();
        assertThat(d.recorder.firstToken).isEmpty();
        d.step();
        assertThat(d.recorder.firstToken).containsKey(1L);
        assertThat(d.iterations).isEqualTo(4);
    }

    @Test
    void decodeIsNotStarvedByAnotherRequestsPrefill() {
        EngineDriver d = new EngineDriver(A100.withMaxNumBatchedTokens(512));
        d.submit(1, 100, 50, new long[0]);
        d.step();
        assertThat(d.recorder.tokens.get(1L)).isEqualTo(1);
        d.submit(2, 4000, 5, new long[0]);
        for (int i = 0; i < 5; i++) {
            d.step();
        }
        // request 1 kept decoding one token per iteration while request 2's prompt was chunked alongside.
        assertThat(d.recorder.tokens.get(1L)).isEqualTo(6);
        assertThat(d.recorder.firstToken).doesNotContainKey(2L);
    }

    @Test
    void blocksNeverLeakUnderPressureAndPreemption() {
        Profile tiny = A100.withKvBlocks(400).withMaxNumSeqs(64);
        EngineDriver d = new EngineDriver(tiny);
        SplittableRandom rnd = new SplittableRandom(7);
        long[] shared = hashes("system", 20);
        int submitted = 0;
        for (int round = 0; round < 40; round++) {
            for (int i = 0; i < 5; i++) {
                int prompt = 200 + rnd.nextInt(1500);
                int out = 1 + rnd.nextInt(300);
                long[] h = rnd.nextBoolean() ? concat(shared, hashes("u" + submitted, prompt / 16)) : new long[0];
                d.submit(submitted++, prompt, out, h);
            }
            for (int s = 0; s < 30 && d.step(); s++) {
                assertThat(d.engine.usedBlocks()).isBetween(0, 400);
                assertThat(d.engine.usedBlocks() + d.engine.freeBlocks()).isEqualTo(400);
            }
        }
        d.runToIdle(100_000);
        assertThat(d.recorder.finished).hasSize(submitted);
        assertThat(d.engine.preemptions()).isPositive();
        assertThat(d.engine.usedBlocks()).isZero();
        assertThat(d.engine.freeBlocks()).isEqualTo(400);
        for (long id = 0; id < submitted; id++) {
            assertThat(d.recorder.tokens.get(id)).isNotNull();
        }
    }

    @Test
    void preemptedRequestIsRecomputedAndStillProducesAllItsTokens() {
        // 40 blocks = 640 tokens: two requests of 200 + 300 tokens cannot both finish in memory.
        Profile tiny = A100.withKvBlocks(40);
        EngineDriver d = new EngineDriver(tiny);
        EngineRequest a = d.submit(1, 200, 300, new long[0]);
        EngineRequest b = d.submit(2, 200, 300, new long[0]);
        d.runToIdle(10_000);
        assertThat(d.engine.preemptions()).isPositive();
        assertThat(a.preemptions() + b.preemptions()).isPositive();
        assertThat(d.recorder.tokens).containsEntry(1L, 300).containsEntry(2L, 300);
        assertThat(d.engine.usedBlocks()).isZero();
    }

    @Test
    void anAnswerStaysCachedForTheNextTurnWhenItsHashesAreKnown() {
        for (boolean fused : new boolean[] {false, true}) {
            // Turn 1: a 100-token prompt (6 full blocks and a partial one) and a 61-token answer, whose last token is
            // sampled but never computed: 160 tokens in the KV cache, 10 full blocks. Turn 2's prompt repeats them
            // and adds 80.
            long[] sequence = hashes("turn one", 10);
            long[] next = concat(sequence, hashes("turn two", 5));
            for (boolean known : new boolean[] {false, true}) {
                EngineDriver d = new EngineDriver(A100, Faults.NONE, 1, fused);
                EngineRequest first = EngineRequest.of(1, 100, 61, java.util.Arrays.copyOf(sequence, 6),
                        Optional.empty(), d.recorder);
                if (known) {
                    first.withSequenceHashes(sequence);
                }
                d.engine.submit(first);
                d.runToIdle(1_000);
                EngineRequest second = d.submit(2, 240, 5, next);
                d.runToIdle(1_000);
                // Known: the answer's blocks (the prompt's partial block completed by it, and three more) are hits.
                assertThat(second.cachedTokens()).as("fused %s, known %s", fused, known)
                        .isEqualTo(known ? 10 * 16 : 6 * 16);
                assertThat(d.engine.usedBlocks()).isZero();
            }
        }
    }

    @Test
    void prefixHitsOnlyOnAMatchingChainedPrefix() {
        EngineDriver d = new EngineDriver(A100);
        long[] system = hashes("system prompt", 10);
        EngineRequest first = d.submit(1, 30 * 16, 2, concat(system, hashes("alice", 20)));
        d.runToIdle(100);
        assertThat(first.cachedTokens()).isZero();

        EngineRequest sameSystem = d.submit(2, 30 * 16, 2, concat(system, hashes("bob", 20)));
        d.runToIdle(100);
        assertThat(sameSystem.cachedTokens()).isEqualTo(10 * 16);

        // Same text blocks after a different first block: chained hashes differ, so nothing is reused.
        StringBuilder text = new StringBuilder(String.format("%-64s", "other"));
        for (int i = 0; i < 10; i++) {
            text.append(String.format("%-64s", "system prompt-" + i));
        }
        long[] shifted = PromptHasher.hash(text.toString());
        EngineRequest other = d.submit(3, 11 * 16, 2, shifted);
        d.runToIdle(100);
        assertThat(other.cachedTokens()).isZero();
        assertThat(d.engine.prefixHitTokens()).isEqualTo(160);
    }

    @Test
    void cachedPrefixProbeSeesTheCacheAndChangesNothing() {
        EngineDriver d = new EngineDriver(A100.withKvBlocks(64));
        long[] a = hashes("a", 20);
        long[] b = hashes("b", 20);
        d.submit(1, 20 * 16, 1, a);
        d.runToIdle(100);
        d.submit(2, 20 * 16, 1, b);
        d.runToIdle(100);
        assertThat(d.engine.cachedPrefixTokens(a)).isEqualTo(20 * 16);
        assertThat(d.engine.cachedPrefixTokens(concat(hashes("a", 5), hashes("x", 3)))).isEqualTo(5 * 16);
        assertThat(d.engine.cachedPrefixTokens(hashes("x", 4))).isZero();
        int free = d.engine.freeBlocks();
        int cached = d.engine.cachedBlocks();
        long hits = d.engine.prefixHitTokens();
        for (int i = 0; i < 10; i++) {
            d.engine.cachedPrefixTokens(a);
        }
        assertThat(d.engine.freeBlocks()).isEqualTo(free);
        assertThat(d.engine.cachedBlocks()).isEqualTo(cached);
        assertThat(d.engine.prefixHitTokens()).isEqualTo(hits);
        // Probing took no reference and moved nothing in the LRU queue: a is still evicted first.
        d.submit(3, 30 * 16 - 1, 1, new long[0]);
        d.runToIdle(100);
        assertThat(d.engine.cachedPrefixTokens(b)).isEqualTo(20 * 16);
        assertThat(d.engine.cachedPrefixTokens(a)).isLessThan(20 * 16);
    }

    @Test
    void aFullyCachedPromptStillComputesItsLastBlock() {
        EngineDriver d = new EngineDriver(A100);
        long[] h = hashes("p", 8);
        d.submit(1, 128, 1, h);
        d.runToIdle(100);
        EngineRequest again = d.submit(2, 128, 1, h);
        d.runToIdle(100);
        assertThat(again.cachedTokens()).isEqualTo(7 * 16);
    }

    @Test
    void leastRecentlyUsedPrefixIsEvictedFirstAndPromptTailsBeforeHeads() {
        Profile small = A100.withKvBlocks(64);
        EngineDriver d = new EngineDriver(small);
        long[] a = hashes("a", 20);
        long[] b = hashes("b", 20);
        d.submit(1, 20 * 16, 1, a);
        d.runToIdle(100);
        d.submit(2, 20 * 16, 1, b);
        d.runToIdle(100);
        // 64 blocks: a (21 incl. the decode block), b (21) are cached or free. A 30-block request must evict 8
        // cached blocks: the least recently used ones, i.e. a's, starting from its tail.
        d.submit(3, 30 * 16 - 1, 1, new long[0]);
        d.runToIdle(100);
        EngineRequest againA = d.submit(4, 20 * 16 + 1, 1, a);
        d.runToIdle(100);
        assertThat(againA.cachedTokens()).isBetween(1, 19 * 16);
        EngineRequest againB = d.submit(5, 20 * 16 + 1, 1, b);
        d.runToIdle(100);
        assertThat(againB.cachedTokens()).isEqualTo(20 * 16);
    }

    @Test
    void repeatedLongPromptHasLowerTimeToFirstToken() {
        EngineDriver d = new EngineDriver(A100);
        long[] h = hashes("long document", 500);
        EngineRequest cold = d.submit(1, 8000, 1, h);
        d.runToIdle(100);
        EngineRequest warm = d.submit(2, 8000, 1, h);
        d.runToIdle(100);
        long coldTtft = cold.firstTokenNanos() - cold.arrivalNanos();
        long warmTtft = warm.firstTokenNanos() - warm.arrivalNanos();
        assertThat(warmTtft).isLessThan(coldTtft / 3);
    }

    @Test
    void soloFirstTokenIsTheTimeToFirstTokenOfARequestAloneColdOrCached() {
        EngineDriver d = new EngineDriver(A100);
        long[] h = hashes("solo", 500);
        EngineRequest cold = d.submit(1, 7000, 1, h);
        d.runToIdle(100);
        // Same 4,000-token prefix, then 1,000 new tokens: 250 cached blocks.
        EngineRequest warm = d.submit(2, 5000, 1, concat(java.util.Arrays.copyOf(h, 250), hashes("other", 63)));
        d.runToIdle(100);
        assertThat(warm.cachedTokens()).isEqualTo(4000);
        assertThat(cold.firstTokenNanos() - cold.arrivalNanos()).isEqualTo(d.engine.soloFirstTokenNanos(0, 7000));
        assertThat(warm.firstTokenNanos() - warm.arrivalNanos()).isEqualTo(d.engine.soloFirstTokenNanos(4000, 5000));
        // Attention over the cached prefix makes those 1,000 tokens dearer than 1,000 alone, but far cheaper than 5,000.
        assertThat(d.engine.soloFirstTokenNanos(4000, 5000))
                .isGreaterThan(d.engine.soloFirstTokenNanos(0, 1000))
                .isLessThan(d.engine.soloFirstTokenNanos(0, 5000) / 3);
        // A fully cached prompt still computes its last block, as admission does (a hit never covers the last token).
        EngineRequest again = d.submit(3, 5000, 1, concat(java.util.Arrays.copyOf(h, 250), hashes("other", 63)));
        d.runToIdle(100);
        assertThat(again.cachedTokens()).isEqualTo(4992);
        assertThat(again.firstTokenNanos() - again.arrivalNanos()).isEqualTo(d.engine.soloFirstTokenNanos(5000, 5000))
                .isEqualTo(d.engine.soloFirstTokenNanos(4992, 5000)).isEqualTo(d.engine.soloFirstTokenNanos(4999, 5000));
    }

    @Test
    void loraSlotsLimitDistinctAdaptersAndLoadingCostsTime() {
        Profile p = A100.withLoras(1, Duration.ofMillis(50));
        EngineDriver d = new EngineDriver(p);
        EngineRequest x = EngineRequest.of(1, 100, 10, new long[0], Optional.of("sql"), d.recorder);
        EngineRequest y = EngineRequest.of(2, 100, 10, new long[0], Optional.of("chat"), d.recorder);
        EngineRequest z = EngineRequest.of(3, 100, 10, new long[0], Optional.of("sql"), d.recorder);
        d.engine.submit(x);
        d.engine.submit(y);
        d.engine.submit(z);
        long end = d.engine.startIteration();
        // sql loaded (50 ms), chat must wait for a slot, the second sql request rides along.
        assertThat(d.engine.running()).isEqualTo(2);
        assertThat(d.engine.runningAdapters()).containsExactly("sql");
        assertThat(end).isGreaterThanOrEqualTo(Duration.ofMillis(50).toNanos());
        d.clock.setNanos(end);
        d.engine.finishIteration();
        d.runToIdle(1000);
        assertThat(x.finishNanos()).isLessThan(y.firstScheduledNanos() + 1);
        assertThat(z.firstScheduledNanos()).isLessThan(y.firstScheduledNanos());
        assertThat(d.engine.loraLoads()).isEqualTo(2);
        assertThat(d.recorder.finished).hasSize(3);
    }

    @Test
    void sameSeedGivesTheSameTimelineAndFaults() {
        assertThat(run(42)).isEqualTo(run(42));
        assertThat(run(42)).isNotEqualTo(run(43));
    }

    private static List<String> run(long seed) {
        Faults faults = Faults.NONE.withErrorRate(0.1).withResetRate(0.1).withStalls(2, Duration.ofMillis(300));
        EngineDriver d = new EngineDriver(A100, faults, seed, true);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 50; i++) {
            d.submit(i, 50 + rnd.nextInt(2000), 1 + rnd.nextInt(200), new long[0]);
        }
        d.runToIdle(100_000);
        List<String> out = new ArrayList<>(d.recorder.timeline);
        out.add("failed " + d.recorder.failed);
        return out;
    }

    @Test
    void fusedDecodeStepsGiveTheSameResultsAsSingleSteps() {
        List<String> fused = finishTimes(true);
        List<String> single = finishTimes(false);
        assertThat(fused).hasSize(30);
        for (int i = 0; i < fused.size(); i++) {
            String[] f = fused.get(i).split(" ");
            String[] s = single.get(i).split(" ");
            assertThat(f[0]).isEqualTo(s[0]);
            // Rounding of one iteration per fused step: equal to within a microsecond per iteration.
            assertThat(Math.abs(Long.parseLong(f[1]) - Long.parseLong(s[1]))).isLessThan(2_000_000);
        }
    }

    private static List<String> finishTimes(boolean fuse) {
        EngineDriver d = new EngineDriver(A100, Faults.NONE, 3, fuse);
        SplittableRandom rnd = new SplittableRandom(5);
        for (int i = 0; i < 30; i++) {
            d.submit(i, 50 + rnd.nextInt(3000), 1 + rnd.nextInt(400), new long[0]);
        }
        d.runToIdle(100_000);
        List<String> out = new ArrayList<>();
        d.recorder.finished.entrySet().stream().sorted(java.util.Map.Entry.comparingByKey())
                .forEach(e -> out.add(e.getKey() + " " + e.getValue()));
        return out;
    }

    @Test
    void warmingUpServerRejectsAndTooLongRequestsFail() {
        EngineDriver d = new EngineDriver(A100, Faults.NONE.withWarmup(Duration.ofSeconds(5), 1, Duration.ZERO),
                1, false);
        d.submit(1, 100, 10, new long[0]);
        assertThat(d.recorder.failed).containsEntry(1L, Failure.UNAVAILABLE);
        d.clock.setNanos(Duration.ofSeconds(5).toNanos());
        d.submit(2, A100.maxModelLen(), 10, new long[0]);
        assertThat(d.recorder.failed).containsEntry(2L, Failure.TOO_LONG);
        d.submit(3, 100, 10, new long[0]);
        d.runToIdle(100);
        assertThat(d.recorder.finished).containsKey(3L);
    }

    @Test
    void arrivalDuringAFusedStepJoinsAtTheSameBoundaryAsWithoutFusing() {
        long arrival = 777_777_777L;
        long[] fused = joinTime(true, arrival);
        long[] single = joinTime(false, arrival);
        assertThat(fused[0]).isGreaterThanOrEqualTo(arrival);
        assertThat(Math.abs(fused[0] - single[0])).isLessThan(1_000);
        assertThat(Math.abs(fused[1] - single[1])).isLessThan(1_000_000);
    }

    /** When a request arriving mid-decode is first scheduled, and when the earlier request finishes. */
    private static long[] joinTime(boolean fuse, long arrival) {
        EngineDriver d = new EngineDriver(A100, Faults.NONE, 1, fuse);
        EngineRequest first = d.submit(1, 500, 400, new long[0]);
        while (true) {
            long end = d.engine.startIteration();
            if (end >= arrival) {
                d.clock.setNanos(arrival);
                EngineRequest late = d.submit(2, 300, 10, new long[0]);
                end = d.engine.truncate();
                d.clock.setNanos(end);
                d.engine.finishIteration();
                d.runToIdle(10_000);
                return new long[] {late.firstScheduledNanos(), first.finishNanos()};
            }
            d.clock.setNanos(end);
            d.engine.finishIteration();
        }
    }

    @Test
    void instantProfilePrefillsA220KbPromptInOneIterationAndKeepsThePrefixCache() {
        EngineDriver d = new EngineDriver(Profile.instant());
        long[] system = hashes("system", 2048);
        EngineRequest first = d.submit(1, 55_000, 4, concat(system, hashes("user-1", 1389)));
        d.step();
        assertThat(d.recorder.firstToken).containsKey(1L);
        assertThat(d.clock.nanoTime()).isLessThan(10);
        d.runToIdle(10);
        EngineRequest second = d.submit(2, 55_000, 4, concat(system, hashes("user-2", 1389)));
        d.step();
        assertThat(d.recorder.firstToken).containsKey(2L);
        assertThat(first.cachedTokens()).isZero();
        assertThat(second.cachedTokens()).isEqualTo(2048 * Profile.BLOCK_TOKENS);
        d.runToIdle(10);
        assertThat(d.recorder.finished).containsKeys(1L, 2L);
    }
}
