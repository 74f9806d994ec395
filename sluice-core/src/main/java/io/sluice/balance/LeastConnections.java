package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
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
        Member[] members = snapshot.candidates().toArray(new Member[0]);
        double[] inverseWeights = new double[n];
        for (int i = 0; i < n; i++) {
            inverseWeights[i] = weighted ? 1.0 / snapshot.weight(i) : 1.0;
        }
        return new LeastSelector(members, inverseWeights, random.get().nextInt(n));
    }

    private static final class LeastSelector implements Selector {
        private final Member[] members;
        private final double[] inverseWeights;
        private final AtomicInteger offset;

        LeastSelector(Member[] members, double[] inverseWeights, int start) {
            this.members = members;
            this.inverseWeights = inverseWeights;
            this.offset = new AtomicInteger(start);
        }

        @Override
        public Member select(PickContext ctx) {
            int n = members.length;
            int start = Math.floorMod(offset.getAndIncrement(), n);
            boolean exclusions = ctx.hasExclusions();
            Member best = null;
            double bestLoad = Double.MAX_VALUE;
            for (int k = 0; k < n; k++) {
                int i = start + k;
                if (i >= n) {
                    i -= n;
                }
                Member m = members[i];
                if (exclusions && ctx.excluded(m)) {
                    continue;
                }
                double load = m.load().activeRequests() * inverseWeights[i];
                if (load < bestLoad) {
                    bestLoad = load;
                    best = m;
                }
            }
            return best != null ? best : members[start];
        }
    }
}
