package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code weighted-round-robin}: each candidate in proportion to its effective weight, interleaved so that no
 * endpoint gets a burst.
 *
 * <p>The order is nginx's <em>smooth weighted round-robin</em> ({@code ngx_http_upstream_get_peer}, 2012): every
 * step adds each weight to that endpoint's running score, picks the highest score and takes the total weight off
 * the winner. For weights 5:1:1 it yields {@code a a b a c a a} rather than {@code a a a a a b c}. Over any window
 * of {@code n} consecutive picks an endpoint of weight {@code w} out of {@code W} gets at most
 * {@code ⌈n·w/W⌉ + 1} of them, which is what keeps a heavy endpoint from being hit in bursts. (Earliest-deadline
 * schedules such as Envoy's weighted round robin do not keep that window bound for every weight vector.)
 *
 * <p>The sequence is periodic with period {@code W} (after dividing the weights by their GCD): each endpoint is
 * picked exactly {@code w} times and every score is back to zero. So the selector computes one period when the
 * snapshot is built and a pick is an atomic increment and an array read: lock-free, O(1), allocation-free, and
 * exactly nginx's order. Weights are kept exact while the period fits in {@link #MAX_PERIOD} entries (and the
 * O(period × n) build stays a few milliseconds); larger or fractional (slow start) weights are rounded to that
 * resolution, never below one slot.
 */
final class WeightedRoundRobin implements LoadBalancer {

    /** Longest schedule kept per snapshot. */
    static final int MAX_PERIOD = 1 << 16;

    /** Bound on the build work (period × candidates). */
    private static final long MAX_BUILD_STEPS = 1L << 22;

    /** Fractional weights (slow start) are kept to this many steps per unit of weight. */
    private static final double FRACTION_RESOLUTION = 100;

    private final Supplier<RandomGenerator> random;

    WeightedRoundRobin(Supplier<RandomGenerator> random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "weighted-round-robin";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        int n = snapshot.size();
        if (n == 0) {
            return Selectors.empty(snapshot);
        }
        int[] schedule = schedule(integerWeights(Selectors.weights(snapshot)));
        return new WrrSelector(Selectors.candidates(snapshot), schedule, random.get().nextInt(schedule.length));
    }

    /** Positive integer weights with the same ratios (rounded if they must be), divided by their GCD. */
    static long[] integerWeights(double[] weights) {
        int n = weights.length;
        long maxPeriod = Math.max(n, Math.min(MAX_PERIOD, MAX_BUILD_STEPS / n));
        long[] q = new long[n];
        boolean integral = true;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            integral &= weights[i] == Math.rint(weights[i]);
            sum += weights[i];
        }
        double scale = integral ? 1 : FRACTION_RESOLUTION;
        for (int i = 0; i < n; i++) {
            q[i] = Math.max(1, Math.round(weights[i] * scale));
        }
        reduce(q);
        long total = 0;
        for (long v : q) {
            total += v;
        }
        if (total > maxPeriod) {
            double down = (double) maxPeriod / (sum * scale);
            for (int i = 0; i < n; i++) {
                q[i] = Math.max(1, Math.round(weights[i] * scale * down));
            }
            reduce(q);
        }
        return q;
    }

    private static void reduce(long[] q) {
        long g = 0;
        for (long v : q) {
            g = gcd(g, v);
        }
        for (int i = 0; i < q.length; i++) {
            q[i] /= g;
        }
    }

    private static long gcd(long a, long b) {
        while (b != 0) {
            long t = a % b;
            a = b;
            b = t;
        }
        return a;
    }

    /** One period of nginx's smooth weighted round-robin over integer weights. */
    static int[] schedule(long[] weights) {
        int n = weights.length;
        long total = 0;
        for (long w : weights) {
            total += w;
        }
        int[] schedule = new int[Math.toIntExact(total)];
        long[] current = new long[n];
        for (int step = 0; step < schedule.length; step++) {
            int best = 0;
            for (int i = 0; i < n; i++) {
                current[i] += weights[i];
                if (current[i] > current[best]) {
                    best = i;
                }
            }
            current[best] -= total;
            schedule[step] = best;
        }
        return schedule;
    }

    private static final class WrrSelector implements Selector {
        private final Member[] candidates;
        private final int[] schedule;
        private final AtomicInteger cursor;

        WrrSelector(Member[] candidates, int[] schedule, int start) {
            this.candidates = candidates;
            this.schedule = schedule;
            this.cursor = new AtomicInteger(start);
        }

        @Override
        public Member select(PickContext ctx) {
            int period = schedule.length;
            int position = Math.floorMod(cursor.getAndIncrement(), period);
            int index = schedule[position];
            if (!ctx.hasExclusions() || !ctx.excluded(candidates[index])) {
                return candidates[index];
            }
            // A retry: follow the schedule a little further so the weights still count, then settle for any.
            for (int k = 1; k <= candidates.length; k++) {
                Member m = candidates[schedule[(position + k) % period]];
                if (!ctx.excluded(m)) {
                    return m;
                }
            }
            return Selectors.firstAllowed(candidates, index, ctx);
        }
    }
}
