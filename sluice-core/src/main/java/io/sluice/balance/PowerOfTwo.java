package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code power-of-two}: draw two different candidates at random, send the request to the one with fewer requests
 * in flight per unit of weight.
 *
 * <p>The "power of two choices" (M. Mitzenmacher, "The Power of Two Choices in Randomized Load Balancing", IEEE
 * TPDS 12(10), 2001): comparing just two random choices cuts the maximum load from {@code O(log n / log log n)}
 * to {@code O(log log n)}, nearly as good as scanning every endpoint, in O(1) and without the herd effect of
 * every proxy sending to the single least-loaded endpoint. This is Envoy's {@code LEAST_REQUEST} with
 * {@code choice_count: 2} and HAProxy's {@code balance random(2)}.
 *
 * <p>Weights enter twice, so that an idle pool follows the weights and a busy one keeps the in-flight counts
 * proportional to them: the two choices are drawn with probability proportional to effective weight
 * ({@link AliasTable}), and they are compared by {@code active / weight} (cross-multiplied, no division). On a tie
 * the first draw wins, which keeps the idle split exactly weighted.
 */
final class PowerOfTwo implements LoadBalancer {

    private final Supplier<RandomGenerator> random;

    PowerOfTwo(Supplier<RandomGenerator> random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "power-of-two";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        double[] weights = Selectors.weights(snapshot);
        return new P2cSelector(Selectors.candidates(snapshot), weights, AliasTable.of(weights), random);
    }

    private static final class P2cSelector implements Selector {
        private final Member[] candidates;
        private final double[] weights;
        private final AliasTable table;
        private final Supplier<RandomGenerator> random;

        P2cSelector(Member[] candidates, double[] weights, AliasTable table, Supplier<RandomGenerator> random) {
            this.candidates = candidates;
            this.weights = weights;
            this.table = table;
            this.random = random;
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
            // active(b)/w(b) < active(a)/w(a), without dividing.
            double loadA = candidates[a].load().activeRequests() * weights[b];
            double loadB = candidates[b].load().activeRequests() * weights[a];
            return loadB < loadA ? candidates[b] : candidates[a];
        }
    }
}
