package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.Arrays;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ip-hash}: a client address always reaches the same endpoint while that endpoint is up, weighted, with a
 * re-hash when it is down; nginx's {@code ip_hash}.
 *
 * <p>The algorithm of nginx's {@code ngx_http_upstream_ip_hash_module}: the key picks a point in
 * {@code [0, total weight)} of a fixed list of <em>every</em> endpoint of the pool (up or not), and the endpoint
 * whose weight interval holds it takes the request; if that endpoint is not a candidate (down, draining, ejected,
 * a backup while primaries serve) or was already tried, the key is re-hashed, up to 20 times, then the next
 * candidate in list order is taken. Because down endpoints keep their place, a client of an endpoint that stays up
 * never moves when another goes down and comes back; that is what users of {@code ip_hash} rely on (sessions held
 * in the backend's memory). Adding or removing an endpoint, unlike with {@code ring-hash} and {@code maglev},
 * moves many clients.
 *
 * <p>Differences from nginx, all deliberate: the key is XXH3 of the whole address (nginx hashes the first three
 * octets of an IPv4 address, sending a whole /24 to one server, which made sense for proxy farms in 2005); the list
 * is ordered by the XXH3 of each address, not by configuration order, so it survives reordering; a candidate's
 * weight is its effective weight, so slow start applies.
 */
final class IpHash implements LoadBalancer {

    /** nginx's limit on re-hashes before falling back. */
    static final int MAX_REHASHES = 20;

    @Override
    public String name() {
        return "ip-hash";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        Map<Member, Double> effective = new IdentityHashMap<>();
        for (int i = 0; i < snapshot.size(); i++) {
            effective.put(snapshot.candidates().get(i), snapshot.weight(i));
        }
        List<Member> all = snapshot.members();
        Member[] list = all.toArray(new Member[0]);
        long[] position = new long[list.length];
        for (int i = 0; i < list.length; i++) {
            position[i] = HashKeys.position(list[i].address()) ^ Long.MIN_VALUE;
        }
        Integer[] order = new Integer[list.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> position[i])
                .thenComparing(i -> list[i].address().toString()));
        Member[] slots = new Member[list.length];
        boolean[] candidate = new boolean[list.length];
        double[] upper = new double[list.length];
        double sum = 0;
        for (int k = 0; k < order.length; k++) {
            Member m = list[order[k]];
            Double w = effective.get(m);
            slots[k] = m;
            candidate[k] = w != null;
            sum += w != null ? w : m.endpoint().weight();
            upper[k] = sum;
        }
        return new IpHashSelector(slots, candidate, upper, Selectors.candidates(snapshot));
    }

    private static final class IpHashSelector implements Selector {
        private static final double TWO_POW_MINUS_53 = 0x1.0p-53;

        private final Member[] slots;
        private final boolean[] candidate;
        private final double[] upper;
        private final Member[] candidates;

        IpHashSelector(Member[] slots, boolean[] candidate, double[] upper, Member[] candidates) {
            this.slots = slots;
            this.candidate = candidate;
            this.upper = upper;
            this.candidates = candidates;
        }

        @Override
        public Member select(PickContext ctx) {
            long key = ctx.hash();
            double total = upper[upper.length - 1];
            int slot = 0;
            for (int attempt = 0; attempt <= MAX_REHASHES; attempt++) {
                slot = slotOf((key >>> 11) * TWO_POW_MINUS_53 * total);
                if (candidate[slot] && !ctx.excluded(slots[slot])) {
                    return slots[slot];
                }
                key = HashKeys.rehash(key);
            }
            // Still nothing (few candidates among many endpoints): the next candidate after the last slot tried.
            for (int k = 1; k <= slots.length; k++) {
                int s = (slot + k) % slots.length;
                if (candidate[s] && !ctx.excluded(slots[s])) {
                    return slots[s];
                }
            }
            return Selectors.firstAllowed(candidates, 0, ctx);
        }

        /** The slot whose weight interval holds {@code x}. */
        private int slotOf(double x) {
            int lo = 0;
            int hi = upper.length - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (upper[mid] <= x) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            return lo;
        }
    }
}
