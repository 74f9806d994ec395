package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code round-robin}: each candidate in turn, ignoring weights.
 *
 * <p>A new snapshot starts its cursor at a random position, as Envoy does, so that many proxies restarted together
 * do not all send their first request to the same endpoint.
 */
final class RoundRobin implements LoadBalancer {

    private final Supplier<RandomGenerator> random;

    RoundRobin(Supplier<RandomGenerator> random) {
        this.random = random;
    }

    @Override
    public String name() {
        return "round-robin";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        return new RoundRobinSelector(snapshot.candidates(), random.get().nextInt(snapshot.size()));
    }

    private static final class RoundRobinSelector implements Selector {
        private final Member[] candidates;
        private final AtomicInteger cursor;

        RoundRobinSelector(List<Member> candidates, int start) {
            this.candidates = candidates.toArray(new Member[0]);
            this.cursor = new AtomicInteger(start);
        }

        @Override
        public Member select(PickContext ctx) {
            int n = candidates.length;
            int start = Math.floorMod(cursor.getAndIncrement(), n);
            if (!ctx.hasExclusions()) {
                return candidates[start];
            }
            for (int k = 0; k < n; k++) {
                Member m = candidates[(start + k) % n];
                if (!ctx.excluded(m)) {
                    return m;
                }
            }
            return candidates[start];
        }
    }
}
