package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.NoEndpointException.Reason;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class BaselinesTest {

    @Test
    void llmdStaysOnThePrefixHolderEvenWithTheLongestQueue() {
        Fleet f = new Fleet("llm-d", 2);
        f.publishAll(0, 0, 0.2);
        int holder = f.pick(Fleet.request(1, 60, 1, 60));
        // The holder now reports the worst queue (4 waiting, under the saturation threshold of 5): queue score 0
        // against 2, but the prefix score 3 × 60/64 ≈ 2.8 still wins, as in llm-d's default profile.
        f.publish(holder, 4, 10, 0.2);
        f.publish(1 - holder, 0, 10, 0.2);
        for (int i = 0; i < 5; i++) {
            assertThat(f.pick(Fleet.request(1, 60, 10 + i, 64))).isEqualTo(holder);
        }
    }

    @Test
    void llmdScoresNormaliseAsPublished() {
        Fleet f = new Fleet("llm-d", 3);
        // No prefix anywhere: 2·queue + 2·(1 − kv). Queues 0, 2, 4 → 1, ½, 0; KV 0.9, 0.1, 0.1.
        f.publish(0, 0, 1, 0.9);   // 2 + 0.2 = 2.2
        f.publish(1, 2, 1, 0.1);   // 1 + 1.8 = 2.8
        f.publish(2, 4, 1, 0.1);   // 0 + 1.8 = 1.8
        for (int i = 0; i < 4; i++) {
            assertThat(f.pick(Fleet.request(100 + i, 0, 100 + i, 8))).isEqualTo(1);
        }
    }

    @Test
    void llmdHasNoAccountOfItsOwnDispatchesBetweenScrapes() {
        Fleet f = new Fleet("llm-d", 3);
        f.publish(0, 0, 1, 0.1);
        f.publish(1, 1, 1, 0.1);
        f.publish(2, 1, 1, 0.1);
        int[] count = new int[3];
        for (int i = 0; i < 10; i++) {
            count[f.pick(Fleet.request(i, 0, i, 8))]++;
        }
        assertThat(count).containsExactly(10, 0, 0);   // the whole burst herds onto the best-looking server
    }

    @Test
    void llmdQueuesOnlyWhenEveryServerIsSaturatedOrStale() {
        Fleet f = new Fleet("llm-d", 2);
        f.publish(0, 5, 1, 0.1);
        f.publish(1, 0, 1, 0.85);
        assertThat(f.failure(Fleet.request(1, 0, 1, 8))).isEqualTo(Reason.SATURATED);
        f.publish(1, 0, 1, 0.5);
        assertThat(f.pick(Fleet.request(1, 0, 1, 8))).isBetween(0, 1);   // saturated servers still score
        f.clock.advance(Duration.ofSeconds(1));
        assertThat(f.failure(Fleet.request(1, 0, 1, 8))).isEqualTo(Reason.SATURATED);
    }

    @Test
    void llmdMatchesAtMost256Blocks() {
        Fleet f = new Fleet("llm-d", 1);
        f.publishAll(0, 0, 0);
        f.pick(Fleet.request(1, 400, 1, 400));
        assertThat(f.state.indexedBlocks(f.members.get(0).address())).isEqualTo(256);
    }

    @Test
    void sglangFollowsTheBestMatchAboveTheThreshold() {
        Fleet f = new Fleet("sglang-cache-aware", 3);
        int holder = f.pick(Fleet.request(1, 40, 1, 40));
        // 40 of 100 blocks cached = 0.4 > 0.3: to the holder, whatever else.
        for (int i = 0; i < 3; i++) {
            assertThat(f.pick(Fleet.request(1, 40, 10 + i, 100))).isEqualTo(holder);
        }
    }

    @Test
    void sglangBelowTheThresholdPicksTheSmallestTree() {
        Fleet f = new Fleet("sglang-cache-aware", 3);
        int a = f.pick(Fleet.request(1, 0, 1, 50));
        int b = f.pick(Fleet.request(2, 0, 2, 30));
        assertThat(b).isNotEqualTo(a);
        int c = f.pick(Fleet.request(3, 0, 3, 10));
        assertThat(c).isNotIn(a, b);
        // Trees now hold 50, 30 and 10 blocks: the next unmatched prompt goes to the smallest.
        assertThat(f.pick(Fleet.request(4, 0, 4, 10))).isEqualTo(c);
        // 20 of 100 matched = 0.2 ≤ 0.3: still the smallest tree (c, now 20), not the holder a.
        assertThat(f.pick(Fleet.request(1, 20, 5, 100))).isEqualTo(c);
    }

    @Test
    void sglangRoutesToTheShortestQueueWhenImbalanced() {
        Fleet f = new Fleet("sglang-cache-aware", 2);
        int holder = f.pick(Fleet.request(1, 50, 1, 80));
        for (int i = 0; i < 65; i++) {
            f.members.get(holder).load().requestStarted();
        }
        // 65 − 0 > 64 and 65 > 1.5 · 0: imbalanced, the cache is ignored.
        assertThat(f.pick(Fleet.request(1, 50, 2, 80))).isEqualTo(1 - holder);
        // 64 − 1 ≤ 64: balanced again, back to the longest match (80 blocks on the holder, 50 on the other).
        f.members.get(holder).load().requestEnded();
        f.members.get(1 - holder).load().requestStarted();
        assertThat(f.pick(Fleet.request(1, 50, 1, 80))).isEqualTo(holder);
    }

    @Test
    void sglangNeverQueues() {
        Fleet f = new Fleet("sglang-cache-aware", 2);
        f.publishAll(100, 100, 1.0);
        assertThat(f.pick(Fleet.request(1, 0, 1, 8))).isBetween(0, 1);
    }
}
