package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;

/**
 * {@code consistent-hash-bounded}: consistent hashing on a ring, but an endpoint already above
 * {@code hash_balance_factor} × its fair share of the requests in flight is passed over for the next one along
 * the ring.
 *
 * <p>"Consistent Hashing with Bounded Loads" (V. Mirrokni, M. Thorup, M. Zadimoghaddam, SODA 2018; arXiv
 * 1608.01350, 2016), as deployed by Vimeo in HAProxy ({@code hash-balance-factor}) and by Envoy
 * ({@code hash_balance_factor}). With {@code T} requests in flight on the pool and the new one, endpoint {@code i}
 * of weight {@code w} out of {@code W} may take it only while its own count is below
 * {@code ⌈factor × (T + 1) × w / W⌉} (HAProxy's {@code chash_server_is_eligible}, weighted). So after the pick no
 * endpoint holds more than {@code factor × mean + 1} (equal weights), hot keys spill over to the neighbours on the
 * ring instead of overloading one endpoint, and cold keys stay where plain consistent hashing puts them. The
 * capacities sum to more than {@code T + 1}, so the walk always finds an endpoint. Default factor 1.25 (Envoy's
 * documented recommendation; HAProxy writes it as 125).
 *
 * <p>The pool total is summed over the candidates on each pick (one counter read per endpoint), which keeps the
 * bound exact; the walk itself usually stops at the first or second endpoint.
 */
final class BoundedLoadHash implements LoadBalancer {

    private final double factor;
    private final double pointsPerWeight;

    BoundedLoadHash(double factor, double pointsPerWeight) {
        if (!(factor >= 1.0)) {
            throw new IllegalArgumentException("hash balance factor must be at least 1: " + factor);
        }
        if (!(pointsPerWeight > 0)) {
            throw new IllegalArgumentException("points per weight must be positive: " + pointsPerWeight);
        }
        this.factor = factor;
        this.pointsPerWeight = pointsPerWeight;
    }

    @Override
    public String name() {
        return "consistent-hash-bounded";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        int n = snapshot.size();
        if (n == 0) {
            return Selectors.empty(snapshot);
        }
        Member[] candidates = Selectors.candidates(snapshot);
        double[] weights = Selectors.weights(snapshot);
        double total = 0;
        for (double w : weights) {
            total += w;
        }
        double[] share = new double[n];
        LoadStats[] loads = new LoadStats[n];
        for (int i = 0; i < n; i++) {
            share[i] = factor * weights[i] / total;
            loads[i] = candidates[i].load();
        }
        return new BoundedSelector(candidates, loads, share, HashRing.of(candidates, weights, pointsPerWeight));
    }

    private static final class BoundedSelector implements Selector {
        private final Member[] candidates;
        private final LoadStats[] loads;
        private final double[] share;
        private final HashRing ring;

        BoundedSelector(Member[] candidates, LoadStats[] loads, double[] share, HashRing ring) {
            this.candidates = candidates;
            this.loads = loads;
            this.share = share;
            this.ring = ring;
        }

        @Override
        public Member select(PickContext ctx) {
            long inFlight = 1;
            for (LoadStats load : loads) {
                inFlight += load.activeRequests();
            }
            int point = ring.pointOf(ctx.hash());
            boolean exclusions = ctx.hasExclusions();
            int size = ring.size();
            int previous = -1;
            for (int k = 0; k < size; k++) {
                int i = ring.ownerAt(point + k);
                if (i == previous) {
                    continue;
                }
                previous = i;
                if (exclusions && ctx.excluded(candidates[i])) {
                    continue;
                }
                if (loads[i].activeRequests() < Math.ceil(share[i] * inFlight)) {
                    return candidates[i];
                }
            }
            // Only reachable when the request has tried every endpoint with room.
            return Selectors.firstAllowed(candidates, ring.ownerAt(point), ctx);
        }
    }
}
