package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.Arrays;
import java.util.Comparator;

/**
 * A pool's policy behind its session affinity (see {@link StickySessions}): a request whose affinity names a usable
 * endpoint goes there; any other request goes to the policy.
 *
 * <p>Built per snapshot like every selector, so "usable" means "a candidate of the snapshot the pick is made from",
 * with health, drain, ejection and backups already applied. For cookies the snapshot's endpoint ids are kept
 * sorted (a binary search per request); for headers the candidates form a {@link HashRing}.
 */
final class StickyBalancer implements LoadBalancer {

    private final StickySessions sticky;
    private final LoadBalancer policy;
    private final double pointsPerWeight;

    StickyBalancer(StickySessions sticky, LoadBalancer policy, double pointsPerWeight) {
        this.sticky = sticky;
        this.policy = policy;
        this.pointsPerWeight = pointsPerWeight;
    }

    @Override
    public String name() {
        return policy.name();
    }

    /** The policy used when there is no affinity. */
    LoadBalancer policy() {
        return policy;
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        Selector inner = policy.newSelector(snapshot);
        Member[] candidates = Selectors.candidates(snapshot);
        if (sticky.mode() == StickySessions.Mode.HEADER) {
            HashRing ring = HashRing.of(candidates, Selectors.weights(snapshot), pointsPerWeight);
            return new HeaderSelector(inner, new RingHash.RingSelector(candidates, ring));
        }
        int n = candidates.length;
        long[] ids = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            ids[i] = sticky.endpointId(candidates[i].address());
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingLong(i -> ids[i]));
        long[] sortedIds = new long[n];
        Member[] byId = new Member[n];
        for (int k = 0; k < n; k++) {
            sortedIds[k] = ids[order[k]];
            byId[k] = candidates[order[k]];
        }
        return new CookieSelector(inner, sortedIds, byId);
    }

    private static final class CookieSelector implements Selector {
        private final Selector inner;
        private final long[] ids;
        private final Member[] members;

        CookieSelector(Selector inner, long[] ids, Member[] members) {
            this.inner = inner;
            this.ids = ids;
            this.members = members;
        }

        @Override
        public Member select(PickContext ctx) {
            if (ctx.hasAffinity()) {
                int i = Arrays.binarySearch(ids, ctx.affinity());
                if (i >= 0 && !ctx.excluded(members[i])) {
                    return members[i];
                }
            }
            return inner.select(ctx);
        }
    }

    private static final class HeaderSelector implements Selector {
        private final Selector inner;
        private final RingHash.RingSelector ring;

        HeaderSelector(Selector inner, RingHash.RingSelector ring) {
            this.inner = inner;
            this.ring = ring;
        }

        @Override
        public Member select(PickContext ctx) {
            return ctx.hasAffinity() ? ring.select(ctx.affinity(), ctx) : inner.select(ctx);
        }
    }
}
