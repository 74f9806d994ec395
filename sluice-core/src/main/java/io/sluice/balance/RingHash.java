package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;

/**
 * {@code ring-hash}: consistent hashing on a ring with many points per endpoint (Ketama-style), so the same key
 * reaches the same endpoint and a change of endpoints moves only the keys of the endpoint that changed.
 *
 * <p>The ring is a {@link HashRing}: endpoint points derived from the address string alone, as many per endpoint
 * as its share of the configured {@code ring_size} (default 1,024 points for the pool as configured), weighted by
 * effective weight. References: Karger et al., STOC 1997; last.fm's Ketama (2007); Envoy's {@code RING_HASH}
 * ({@code minimum_ring_size} 1,024). Compared with {@link Maglev}, a ring moves fewer keys on a change and is
 * cheaper to build, at the price of a less even spread (each endpoint's share varies by about
 * {@code 1/√points}) and a binary search per pick.
 *
 * <p>A retry (the owner was already tried) walks on along the ring to the next endpoint not tried, which is where
 * the key would go if the first owner were removed.
 */
final class RingHash implements LoadBalancer {

    private final double pointsPerWeight;

    RingHash(double pointsPerWeight) {
        if (!(pointsPerWeight > 0)) {
            throw new IllegalArgumentException("points per weight must be positive: " + pointsPerWeight);
        }
        this.pointsPerWeight = pointsPerWeight;
    }

    @Override
    public String name() {
        return "ring-hash";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        Member[] candidates = Selectors.candidates(snapshot);
        HashRing ring = HashRing.of(candidates, Selectors.weights(snapshot), pointsPerWeight);
        return new RingSelector(candidates, ring);
    }

    /** Picks the owner of the request's key (callers route keyless requests elsewhere). */
    static final class RingSelector implements Selector {
        private final Member[] candidates;
        private final HashRing ring;

        RingSelector(Member[] candidates, HashRing ring) {
            this.candidates = candidates;
            this.ring = ring;
        }

        @Override
        public Member select(PickContext ctx) {
            return select(ctx.hash(), ctx);
        }

        /** The owner of a key, walking on past endpoints the request already tried. */
        Member select(long key, PickContext ctx) {
            int point = ring.pointOf(key);
            Member owner = candidates[ring.ownerAt(point)];
            if (!ctx.hasExclusions() || !ctx.excluded(owner)) {
                return owner;
            }
            for (int k = 1; k < ring.size(); k++) {
                Member m = candidates[ring.ownerAt(point + k)];
                if (!ctx.excluded(m)) {
                    return m;
                }
            }
            return owner;
        }
    }
}
