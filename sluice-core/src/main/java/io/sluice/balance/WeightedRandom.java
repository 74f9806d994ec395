package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code random}: a candidate drawn at random with probability proportional to its effective weight.
 *
 * <p>Envoy's {@code RANDOM} and HAProxy's {@code balance random(1)}. It needs no shared state at all, so it scales
 * perfectly across event loops and many proxies; its price is variance (over {@code n} picks an endpoint's count
 * varies by about {@code √n}). Sampling uses Walker's alias method ({@link AliasTable}): one random number per
 * pick. A retry re-draws a few times to avoid endpoints already tried, then takes the next untried one.
 */
final class WeightedRandom implements LoadBalancer {

    /** Re-draws before falling back to a scan when the request excludes endpoints. */
    static final int REDRAWS = 4;

    private final Supplier<RandomGenerator> random;

    WeightedRandom(Supplier<RandomGenerator> random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "random";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        return new RandomSelector(Selectors.candidates(snapshot), AliasTable.of(Selectors.weights(snapshot)),
                random);
    }

    private static final class RandomSelector implements Selector {
        private final Member[] candidates;
        private final AliasTable table;
        private final Supplier<RandomGenerator> random;

        RandomSelector(Member[] candidates, AliasTable table, Supplier<RandomGenerator> random) {
            this.candidates = candidates;
            this.table = table;
            this.random = random;
        }

        @Override
        public Member select(PickContext ctx) {
            RandomGenerator rng = random.get();
            int index = table.sample(rng.nextLong());
            if (!ctx.hasExclusions()) {
                return candidates[index];
            }
            for (int k = 0; k < REDRAWS && ctx.excluded(candidates[index]); k++) {
                index = table.sample(rng.nextLong());
            }
            return Selectors.firstAllowed(candidates, index, ctx);
        }
    }
}
