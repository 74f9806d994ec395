package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PrefixIndexTest {

    /** A chain of synthetic blocks: a shared stem of {@code shared} blocks, then a private tail. */
    private static long[] chain(long stem, int shared, long tail, int length) {
        long[] out = new long[length];
        long prev = 0;
        for (int i = 0; i < length; i++) {
            prev = PromptHasher.nextSynthetic(prev, i < shared ? stem * 1_000_003 + i : tail * 7_919 + i);
            out[i] = prev;
        }
        return out;
    }

    private static int[] match(PrefixIndex index, long[] hashes, int slots) {
        int[] matched = new int[slots];
        index.match(hashes, hashes.length, matched);
        return matched;
    }

    @Test
    void longestPrefixPerEndpointWithoutEviction() {
        PrefixIndex index = new PrefixIndex();
        for (int s = 0; s < 4; s++) {
            index.ensureSlot(s, 1_000_000);
        }
        long[] a = chain(1, 10, 100, 40);
        long[] b = chain(1, 10, 200, 25);
        index.record(0, a, a.length);
        index.record(1, b, b.length);
        index.record(2, a, 5);

        int[] m = match(index, a, 4);
        assertThat(m).containsExactly(40, 10, 5, 0);
        assertThat(match(index, b, 4)).containsExactly(10, 25, 5, 0);
        assertThat(match(index, chain(2, 0, 300, 30), 4)).containsExactly(0, 0, 0, 0);
        int[] out = new int[4];
        assertThat(index.match(a, a.length, out)).isEqualTo(40);
        assertThat(index.match(a, 0, out)).isZero();
    }

    @Test
    void matchesBruteForceOnRandomWorkloads() {
        SplittableRandom rnd = new SplittableRandom(7);
        int slots = 130;   // more than two 64-bit words of holders
        PrefixIndex index = new PrefixIndex();
        for (int s = 0; s < slots; s++) {
            index.ensureSlot(s, 1_000_000);
        }
        List<long[]> chains = new ArrayList<>();
        Map<Integer, List<long[]>> recorded = new HashMap<>();
        for (int r = 0; r < 2000; r++) {
            long[] c = chain(rnd.nextInt(20), rnd.nextInt(1, 30), r, rnd.nextInt(1, 60));
            int count = rnd.nextInt(1, c.length + 1);
            int slot = rnd.nextInt(slots);
            index.record(slot, c, count);
            chains.add(c);
            recorded.computeIfAbsent(slot, k -> new ArrayList<>()).add(Arrays.copyOf(c, count));
        }
        for (int q = 0; q < 300; q++) {
            long[] query = chains.get(rnd.nextInt(chains.size()));
            int[] got = match(index, query, slots);
            for (int s = 0; s < slots; s++) {
                int expected = 0;
                for (long[] c : recorded.getOrDefault(s, List.of())) {
                    expected = Math.max(expected, PromptHasher.commonPrefix(c, query));
                }
                assertThat(got[s]).as("slot %d query %d", s, q).isEqualTo(expected);
            }
        }
    }

    @Test
    void capacityBoundsEachEndpointAndForgetsLeastRecentlyUsedFirst() {
        PrefixIndex index = new PrefixIndex();
        index.ensureSlot(0, 100);
        long[] hot = chain(1, 0, 1, 40);
        index.record(0, hot, hot.length);
        for (int r = 0; r < 50; r++) {
            long[] cold = chain(2, 0, 1000 + r, 20);
            index.record(0, cold, cold.length);
            index.record(0, hot, hot.length);   // the hot prompt keeps being used
            // Eviction work is spread over requests: at most a slack of 8 blocks over capacity.
            assertThat(index.blocks(0)).isLessThanOrEqualTo(100 + 8);
        }
        assertThat(match(index, hot, 1)[0]).isEqualTo(40);
        // Old cold prompts are gone; the last one is still there.
        assertThat(match(index, chain(2, 0, 1000, 20), 1)[0]).isZero();
        assertThat(match(index, chain(2, 0, 1049, 20), 1)[0]).isEqualTo(20);
    }

    @Test
    void evictsEndsOfPromptsBeforeTheirBeginnings() {
        PrefixIndex index = new PrefixIndex();
        index.ensureSlot(0, 30);
        long[] a = chain(1, 0, 1, 30);
        index.record(0, a, a.length);
        long[] b = chain(2, 0, 2, 10);
        index.record(0, b, b.length);   // 10 of a's blocks must go: its last ten
        assertThat(match(index, a, 1)[0]).isEqualTo(20);
        assertThat(match(index, b, 1)[0]).isEqualTo(10);
    }

    @Test
    void staysPrefixClosedUnderChurn() {
        SplittableRandom rnd = new SplittableRandom(11);
        PrefixIndex index = new PrefixIndex();
        int slots = 3;
        for (int s = 0; s < slots; s++) {
            index.ensureSlot(s, 200);
        }
        List<long[]> chains = new ArrayList<>();
        for (int r = 0; r < 3000; r++) {
            long[] c = chain(rnd.nextInt(8), rnd.nextInt(1, 40), r % 300, rnd.nextInt(1, 80));
            index.record(rnd.nextInt(slots), c, c.length);
            chains.add(c);
        }
        int violations = 0;
        int checked = 0;
        for (long[] c : chains.subList(chains.size() - 500, chains.size())) {
            for (int s = 0; s < slots; s++) {
                boolean gap = false;
                for (long h : c) {
                    boolean held = index.holds(s, h);
                    if (held && gap) {
                        violations++;
                        break;
                    }
                    gap |= !held;
                }
                checked++;
            }
        }
        for (int s = 0; s < slots; s++) {
            assertThat(index.blocks(s)).isLessThanOrEqualTo(200 + 8);
        }
        // CLOCK is an approximation of LRU: allow a rare forced eviction out of order, never a common one.
        assertThat(violations).as("of %d checked", checked).isLessThan(checked / 100 + 1);
    }

    @Test
    void removingEndpointsFreesEverything() {
        PrefixIndex index = new PrefixIndex();
        for (int s = 0; s < 70; s++) {
            index.ensureSlot(s, 1000);
        }
        long[] shared = chain(1, 20, 1, 20);
        for (int s = 0; s < 70; s++) {
            index.record(s, shared, shared.length);
            long[] own = chain(2, 0, s, 10);
            index.record(s, own, own.length);
        }
        assertThat(index.entries()).isEqualTo(20 + 70 * 10);
        assertThat(match(index, shared, 70)).containsOnly(20);
        for (int s = 0; s < 69; s++) {
            index.removeSlot(s);
        }
        int[] m = match(index, shared, 70);
        assertThat(m[69]).isEqualTo(20);
        assertThat(Arrays.stream(m, 0, 69).sum()).isZero();
        assertThat(index.entries()).isEqualTo(20 + 10);
        index.removeSlot(69);
        assertThat(index.entries()).isZero();
    }

    @Test
    void aStrideSamplesEveryNthBlockAndMatchesInWholeSteps() {
        PrefixIndex index = new PrefixIndex(8);
        index.ensureSlot(0, 1000);
        index.ensureSlot(1, 1000);
        long[] a = chain(1, 30, 1, 60);
        long[] b = chain(1, 30, 2, 45);
        index.record(0, a, a.length);
        index.record(1, b, b.length);
        assertThat(index.blocks(0)).isEqualTo(56);
        assertThat(index.blocks(1)).isEqualTo(40);
        assertThat(index.entries()).isEqualTo(7 + 5 - 3);   // the first three entries (24 blocks) are shared
        // 30 blocks in common: matched in whole 8-block steps, 24.
        assertThat(match(index, b, 2)).containsExactly(24, 40);
        assertThat(match(index, a, 2)).containsExactly(56, 24);
        assertThat(match(index, chain(1, 30, 3, 7), 2)).containsExactly(0, 0);
        index.setCapacity(0, 20);
        assertThat(index.blocks(0)).isEqualTo(16);
    }

    @Test
    void shrinkingCapacityEvicts() {
        PrefixIndex index = new PrefixIndex();
        index.ensureSlot(0, 1000);
        long[] a = chain(1, 0, 1, 500);
        index.record(0, a, a.length);
        index.setCapacity(0, 100);
        assertThat(index.blocks(0)).isEqualTo(100);
        assertThat(match(index, a, 1)[0]).isEqualTo(100);
        index.setCapacity(0, 0);
        assertThat(index.blocks(0)).isZero();
        assertThat(index.entries()).isZero();
    }

    @Test
    void tableGrowsAndDeletesKeepProbingCorrect() {
        PrefixIndex index = new PrefixIndex();
        index.ensureSlot(0, 5000);
        index.ensureSlot(1, 5000);
        SplittableRandom rnd = new SplittableRandom(3);
        List<long[]> kept = new ArrayList<>();
        for (int r = 0; r < 400; r++) {
            long[] c = chain(r, 0, r, rnd.nextInt(1, 50));
            index.record(r % 2, c, c.length);
            kept.add(c);
        }
        // Slot 0 churns far past its capacity; slot 1's records must all still be found.
        index.setCapacity(0, 10);
        for (int r = 1; r < kept.size(); r += 2) {
            long[] c = kept.get(r);
            assertThat(match(index, c, 2)[1]).isEqualTo(c.length);
        }
    }
}
