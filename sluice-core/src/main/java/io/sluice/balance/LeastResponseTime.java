package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.time.Clock;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code least-response-time}: power of two choices on the expected time to serve the request, estimated as
 * peak-EWMA latency × (requests in flight + 1).
 *
 * <p>This is Finagle's {@code PeakEwma} balancer (Twitter, 2016; also Linkerd's default): each endpoint keeps an
 * exponentially weighted moving average of its latency that jumps to any sample above it at once and decays
 * toward lower samples with time constant τ ({@link LoadStats#recordLatency}); between samples it decays toward
 * zero ({@link LoadStats#decayedLatencyNanos}), so an endpoint that was slow once and got no traffic since is
 * tried again after a few τ. The cost of an endpoint is that estimate times its requests in flight plus one; an
 * endpoint never measured costs nothing while idle and a large penalty while busy (Finagle's rule), so a new
 * endpoint gets one request and is then judged on its answer.
 *
 * <p>Weights: the two candidates are drawn with probability proportional to effective weight, and an endpoint's
 * requests in flight count per unit of its weight relative to the pool's mean, {@code latency × (1 + active / ŵ)}
 * with {@code ŵ = w / mean(w)}, reading a weight as capacity (an endpoint of twice the weight takes two requests
 * before it queues like one). With equal weights this is exactly Finagle's {@code latency × (active + 1)}; with
 * unequal weights an idle pool follows the weights (equal costs tie and the first, weighted, draw wins) and a busy
 * one keeps the in-flight counts proportional to them, as {@link PowerOfTwo} does. Dividing the whole cost by the
 * weight instead would send every request to the heavier endpoint whenever the pool is idle.
 *
 * <p>Failures feed the estimate as a penalised latency ({@link LoadStats#recordFailureLatency}): a fast failure
 * must not make an endpoint look fast. An endpoint that answered {@code Retry-After} is left alone until that time
 * ({@link LoadStats#penalised}) as long as another candidate is not.
 *
 * <p>Cost: two estimates decay by the same factor from their last samples until now, so a comparison needs only
 * {@code exp((stamp_b − stamp_a)/τ)}: one {@code exp} and no clock read per pick. The clock is read only when one
 * of the two choices has a {@code Retry-After} on record or no latency sample yet.
 */
final class LeastResponseTime implements LoadBalancer {

    /** Cost of a busy endpoint with no latency sample yet (Finagle's {@code Penalty}: {@code Long.MAX_VALUE >> 16}). */
    static final double UNMEASURED_PENALTY = (double) (Long.MAX_VALUE >> 16);

    private final Supplier<RandomGenerator> random;
    private final Clock clock;
    private final long decayNanos;

    LeastResponseTime(Supplier<RandomGenerator> random, Clock clock, long decayNanos) {
        if (decayNanos <= 0) {
            throw new IllegalArgumentException("decay must be positive: " + decayNanos + " ns");
        }
        this.random = random;
        this.clock = clock;
        this.decayNanos = decayNanos;
    }

    @Override
    public String name() {
        return "least-response-time";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        double[] weights = Selectors.weights(snapshot);
        double sum = 0;
        for (double w : weights) {
            sum += w;
        }
        double[] perWeight = new double[weights.length];
        for (int i = 0; i < weights.length; i++) {
            perWeight[i] = sum / weights.length / weights[i];
        }
        return new EwmaSelector(Selectors.candidates(snapshot), perWeight, AliasTable.of(weights));
    }

    /**
     * The expected cost of sending one more request to an endpoint, in latency nanoseconds.
     *
     * @param perWeight {@code 1 / ŵ}: the mean weight over the endpoint's weight
     */
    static double cost(LoadStats stats, long nowNanos, long decayNanos, double perWeight) {
        double queued = stats.activeRequests() * perWeight;
        double latency = stats.decayedLatencyNanos(nowNanos, decayNanos);
        if (latency == 0) {
            return queued == 0 ? 0 : UNMEASURED_PENALTY + queued;
        }
        return latency * (1 + queued);
    }

    private final class EwmaSelector implements Selector {
        private final Member[] candidates;
        private final double[] perWeight;
        private final AliasTable table;

        EwmaSelector(Member[] candidates, double[] perWeight, AliasTable table) {
            this.candidates = candidates;
            this.perWeight = perWeight;
            this.table = table;
        }

        @Override
        public Member select(PickContext ctx) {
            int n = candidates.length;
            if (n == 1) {
                return candidates[0];
            }
            RandomGenerator rng = random.get();
            int a = TwoChoices.first(table, candidates, rng, ctx);
            if (a < 0) {
                return Selectors.firstAllowed(candidates, 0, ctx);
            }
            int b = TwoChoices.second(table, candidates, rng, ctx, a);
            if (b < 0) {
                return candidates[a];
            }
            LoadStats sa = candidates[a].load();
            LoadStats sb = candidates[b].load();
            long untilA = sa.penaltyUntilNanos();
            long untilB = sb.penaltyUntilNanos();
            long now = Long.MIN_VALUE;
            if (untilA != Long.MIN_VALUE || untilB != Long.MIN_VALUE) {
                now = clock.nanoTime();
                boolean penalisedA = now < untilA;
                boolean penalisedB = now < untilB;
                if (penalisedA != penalisedB) {
                    return penalisedA ? candidates[b] : candidates[a];
                }
                if (penalisedA) {
                    int other = cheapestUnpenalised(ctx, now);
                    if (other >= 0) {
                        return candidates[other];
                    }
                }
            }
            return cheaper(sb, b, sa, a, now) ? candidates[b] : candidates[a];
        }

        /**
         * True if {@code b} costs less than {@code a}. Both estimates decay by the same factor until now, so when
         * both are measured the comparison needs only the factor between their stamps: one {@code exp}, no clock.
         */
        private boolean cheaper(LoadStats sb, int b, LoadStats sa, int a, long now) {
            long stampA = sa.latencyStampNanos();
            long stampB = sb.latencyStampNanos();
            if (stampA == Long.MIN_VALUE || stampB == Long.MIN_VALUE) {
                long t = now != Long.MIN_VALUE ? now : clock.nanoTime();
                return cost(sb, t, decayNanos, perWeight[b]) < cost(sa, t, decayNanos, perWeight[a]);
            }
            double exponent = Math.max(-700, Math.min(700, (double) (stampB - stampA) / decayNanos));
            double costA = sa.latencyEwmaNanos() * (1 + sa.activeRequests() * perWeight[a]);
            double costB = sb.latencyEwmaNanos() * (1 + sb.activeRequests() * perWeight[b]) * Math.exp(exponent);
            return costB < costA;
        }

        /** Both choices asked us to back off: the cheapest untried candidate that did not, or -1. */
        private int cheapestUnpenalised(PickContext ctx, long now) {
            int best = -1;
            double bestCost = Double.MAX_VALUE;
            for (int i = 0; i < candidates.length; i++) {
                Member m = candidates[i];
                if (m.load().penalised(now) || ctx.excluded(m)) {
                    continue;
                }
                double c = cost(m.load(), now, decayNanos, perWeight[i]);
                if (c < bestCost) {
                    best = i;
                    bestCost = c;
                }
            }
            return best;
        }
    }
}
