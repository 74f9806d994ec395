package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WeightedRoundRobinTest {

    private final ManualClock clock = ManualClock.start();

    @Test
    void weightsOneTwoThreeGiveOneTwoThreeOver60000Picks() {
        Pool pool = Fixtures.pool(new WeightedRoundRobin(Fixtures.seeded(1)), clock, 1, 2, 3);
        var counts = Fixtures.count(pool, 60_000);
        for (int i = 0; i < 3; i++) {
            double expected = 60_000 * (i + 1) / 6.0;
            assertThat((double) counts.get(Fixtures.member(pool, i)))
                    .as("endpoint of weight %d", i + 1)
                    .isBetween(expected * 0.98, expected * 1.02);
        }
    }

    @Test
    void noEndpointGetsMoreThanItsShareRoundedUpPlusOneInAnyWindow() {
        int[] weights = {1, 2, 3};
        Pool pool = Fixtures.pool(new WeightedRoundRobin(Fixtures.seeded(7)), clock, weights);
        int[] sequence = sequence(pool, 60_000);
        assertWindowBound(sequence, weights, 600);
    }

    @Test
    void windowBoundHoldsForIrregularWeights() {
        SplittableRandom random = new SplittableRandom(42);
        for (int trial = 0; trial < 20; trial++) {
            int[] weights = new int[2 + random.nextInt(6)];
            for (int i = 0; i < weights.length; i++) {
                weights[i] = 1 + random.nextInt(20);
            }
            Pool pool = Fixtures.pool(new WeightedRoundRobin(Fixtures.seeded(trial)), clock, weights);
            assertWindowBound(sequence(pool, 5_000), weights, 120);
        }
    }

    @Test
    void followsNginxSmoothOrder() {
        // nginx's own example: weights 5, 1, 1 give a a b a c a a.
        int[] schedule = WeightedRoundRobin.schedule(new long[] {5, 1, 1});
        assertThat(schedule).containsExactly(0, 0, 1, 0, 2, 0, 0);
    }

    @Test
    void reducesWeightsByTheirCommonDivisorAndKeepsRatiosOfLargeWeights() {
        assertThat(WeightedRoundRobin.integerWeights(new double[] {200, 400, 600})).containsExactly(1, 2, 3);
        double[] big = new double[64];
        for (int i = 0; i < big.length; i++) {
            big[i] = 9_000 + i; // co-prime-ish: the period would be ~580,000 entries
        }
        long[] q = WeightedRoundRobin.integerWeights(big);
        long total = 0;
        for (long v : q) {
            total += v;
        }
        assertThat(total).isLessThanOrEqualTo(WeightedRoundRobin.MAX_PERIOD + big.length);
        assertThat((double) q[63] / q[0]).isCloseTo(9_063.0 / 9_000.0, org.assertj.core.data.Offset.offset(0.002));
    }

    private static int[] sequence(Pool pool, int picks) {
        List<Member> order = pool.snapshot().candidates();
        int[] sequence = new int[picks];
        PickContext ctx = new PickContext();
        for (int i = 0; i < picks; i++) {
            Member m = pool.select(ctx.reset());
            sequence[i] = Fixtures.addressIndex(m);
        }
        assertThat(order).isNotEmpty();
        return sequence;
    }

    /** For every endpoint and window length up to maxWindow: at most ⌈w/W·n⌉ + 1 picks in any window of n. */
    private static void assertWindowBound(int[] sequence, int[] weights, int maxWindow) {
        int total = 0;
        for (int w : weights) {
            total += w;
        }
        List<String> violations = new ArrayList<>();
        for (int e = 0; e < weights.length; e++) {
            int[] prefix = new int[sequence.length + 1];
            for (int i = 0; i < sequence.length; i++) {
                prefix[i + 1] = prefix[i] + (sequence[i] == e ? 1 : 0);
            }
            for (int n = 1; n <= maxWindow; n++) {
                long bound = (long) Math.ceil((double) weights[e] * n / total) + 1;
                for (int start = 0; start + n <= sequence.length; start++) {
                    int got = prefix[start + n] - prefix[start];
                    if (got > bound) {
                        violations.add("endpoint " + e + " got " + got + " > " + bound + " in window " + start
                                + "+" + n);
                        break;
                    }
                }
            }
        }
        assertThat(violations).isEmpty();
    }
}
