package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code least-connections} and {@code weighted-least-connections}: the candidate with the fewest requests in
 * flight (divided by its effective weight in the weighted form).
 *
 * <p>"Connections" here means active requests to the endpoint, which is what HAProxy's {@code leastconn} counts
 * on a TCP listener and what stays meaningful once upstream connections are pooled and reused (Envoy's
 * {@code LEAST_REQUEST} with all hosts compared). The scan starts at a rotating offset so that ties are shared
 * in turn instead of always going to the first endpoint. A full scan is O(n); at the pool sizes this policy is
 * meant for (under a few hundred endpoints) it costs less than a cache miss per endpoint. For larger pools
 * {@code power-of-two} gives nearly the same balance in O(1).
 */
final class LeastConnections implements LoadBalancer {

    /** Fixed-point scale of inverse weights. */
    private static final double INVERSE_WEIGHT_SCALE = 1 << 24;

    private final boolean weighted;
    private final Supplier<RandomGenerator> random;

    LeastConnections(boolean weighted, Supplier<RandomGenerator> random) {
        this.weighted = weighted;
        this.random = random;
    }

    @Override
    public String name() {
        return weighted ? "weighted-least-connections" : "least-connections";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        int n = snapshot.size();
        if (n == 0) {
            return Selectors.empty(snapshot);
        }
        Member[] members = Selectors.candidates(snapshot);
        LoadStats[] loads = new LoadStats[n];
        long[] inverseWeights = new long[n];
        for (int i = 0; i < n; i++) {
            loads[i] = members[i].load();
            inverseWeights[i] = Math.max(1, Math.round(INVERSE_WEIGHT_SCALE / snapshot.weight(i)));
        }
        int start = random.get().nextInt(n);
        return weighted ? new WeightedLeastSelector(members, loads, inverseWeights, start)
                : new LeastSelector(members, loads, start);
    }

    /** Scans from a rotating offset for the fewest requests in flight; integer compares only. */
    private static final class LeastSelector implements Selector {
        private final Member[] members;
        private final LoadStats[] loads;
        private final AtomicInteger offset;

        LeastSelector(Member[] members, LoadStats[] loads, int start) {
            this.members = members;
            this.loads = loads;
            this.offset = new AtomicInteger(start);
        }

        @Override
        public Member select(PickContext ctx) {
            int n = members.length;
            int start = Math.floorMod(offset.getAndIncrement(), n);
            boolean exclusions = ctx.hasExclusions();
            int best = -1;
            int bestLoad = Integer.MAX_VALUE;
            int i = start;
            for (int k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
                int load = loads[i].activeRequests();
                if (load < bestLoad && !(exclusions && ctx.excluded(members[i]))) {
                    bestLoad = load;
                    best = i;
                }
            }
            return best >= 0 ? members[best] : members[start];
        }
    }

    /**
     * As {@link LeastSelector}, comparing requests in flight per unit of effective weight: {@code active × 2^24/w}
     * in integer arithmetic (a weight of 0.1 to 10,000 keeps 2^24/w exact to 1 part in 1,600, far finer than the
     * smallest difference between two loads, and the product far from overflow).
     */
    private static final class WeightedLeastSelector implements Selector {
        private final Member[] members;
        private final LoadStats[] loads;
        private final long[] inverseWeights;
        private final AtomicInteger offset;

        WeightedLeastSelector(Member[] members, LoadStats[] loads, long[] inverseWeights, int start) {
            this.members = members;
            this.loads = loads;
            this.inverseWeights = inverseWeights;
            this.offset = new AtomicInteger(start);
        }

        @Override
        public Member select(PickContext ctx) {
            int n = members.length;
            int start = Math.floorMod(offset.getAndIncrement(), n);
            boolean exclusions = ctx.hasExclusions();
            int best = -1;
            long bestLoad = Long.MAX_VALUE;
            int i = start;
            for (int k = 0; k < n; k++, i = i + 1 == n ? 0 : i + 1) {
                long load = loads[i].activeRequests() * inverseWeights[i];
                if (load < bestLoad && !(exclusions && ctx.excluded(members[i]))) {
                    bestLoad = load;
                    best = i;
                }
            }
            return best >= 0 ? members[best] : members[start];
        }
    }
}
