package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.Arrays;
import java.util.Comparator;

/**
 * {@code maglev}: consistent hashing through a lookup table of prime size {@code M} (default 65,537), filled so that
 * every endpoint owns a share of slots proportional to its weight, within one slot.
 *
 * <p>Google's Maglev (D. E. Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer", NSDI
 * 2016, §3.4): each endpoint has a permutation of the slots, {@code (offset + j·skip) mod M} with
 * {@code offset = h1(address) mod M} and {@code skip = h2(address) mod (M−1) + 1} ({@code M} prime makes every
 * permutation visit every slot). Endpoints take turns claiming their next preferred free slot until the table is
 * full. Weights follow Envoy's weighted Maglev ({@code maglev_lb.cc}): in round {@code r} an endpoint claims a slot
 * only if {@code r · weight ≥ its running target}, which it then raises by the largest weight, so an endpoint of
 * a third of the largest weight claims on every third round.
 *
 * <p>{@code h1} is XXH3-64 of the address string with seed 0 and {@code h2} with seed 1 (Envoy's layout with
 * xxHash64), and the endpoints take their turns in the order of {@code h1} (then address), so the table depends on
 * the set of addresses and weights only, never on list order or a restart. A pick is one multiply-shift and one
 * array read. Maglev spreads keys more evenly than a ring; in exchange a change of endpoints moves a few percent
 * more keys than the minimum (paper, figure 12). A retry walks on through the table to a slot owned by an
 * endpoint the request has not tried.
 */
final class Maglev implements LoadBalancer {

    /** Slots a retry walks through before taking any untried endpoint. */
    private static final int RETRY_WALK = 64;

    private final int tableSize;

    Maglev(int tableSize) {
        if (tableSize < 2 || !isPrime(tableSize)) {
            throw new IllegalArgumentException("maglev table size must be prime: " + tableSize);
        }
        this.tableSize = tableSize;
    }

    @Override
    public String name() {
        return "maglev";
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        Member[] candidates = Selectors.candidates(snapshot);
        double[] weights = Selectors.weights(snapshot);
        return new MaglevSelector(candidates, table(candidates, weights, tableSize));
    }

    /** Builds the lookup table: slot to candidate index. */
    static int[] table(Member[] candidates, double[] weights, int size) {
        int n = candidates.length;
        Integer[] order = new Integer[n];
        long[] offset = new long[n];
        long[] skip = new long[n];
        long[] h1 = new long[n];
        String[] names = new String[n];
        double maxWeight = 0;
        for (int i = 0; i < n; i++) {
            order[i] = i;
            names[i] = candidates[i].address().toString();
            h1[i] = HashKeys.position(candidates[i].address());
            offset[i] = Long.remainderUnsigned(h1[i], size);
            skip[i] = Long.remainderUnsigned(HashKeys.secondaryPosition(candidates[i].address()), size - 1) + 1;
            maxWeight = Math.max(maxWeight, weights[i]);
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> h1[i] ^ Long.MIN_VALUE)
                .thenComparing(i -> names[i]));
        int[] table = new int[size];
        Arrays.fill(table, -1);
        long[] next = new long[n];
        double[] target = new double[n];
        int filled = 0;
        for (long round = 1; filled < size; round++) {
            for (int k = 0; k < n && filled < size; k++) {
                int i = order[k];
                if (round * weights[i] < target[i]) {
                    continue;
                }
                target[i] += maxWeight;
                int slot = (int) ((offset[i] + next[i] * skip[i]) % size);
                while (table[slot] >= 0) {
                    next[i]++;
                    slot = (int) ((offset[i] + next[i] * skip[i]) % size);
                }
                table[slot] = i;
                next[i]++;
                filled++;
            }
        }
        return table;
    }

    private static boolean isPrime(int n) {
        for (int d = 2; (long) d * d <= n; d++) {
            if (n % d == 0) {
                return false;
            }
        }
        return true;
    }

    private static final class MaglevSelector implements Selector {
        private final Member[] candidates;
        private final int[] table;

        MaglevSelector(Member[] candidates, int[] table) {
            this.candidates = candidates;
            this.table = table;
        }

        @Override
        public Member select(PickContext ctx) {
            int slot = HashKeys.bucket(ctx.hash(), table.length);
            Member owner = candidates[table[slot]];
            if (!ctx.hasExclusions() || !ctx.excluded(owner)) {
                return owner;
            }
            for (int k = 1; k <= RETRY_WALK; k++) {
                Member m = candidates[table[(slot + k) % table.length]];
                if (!ctx.excluded(m)) {
                    return m;
                }
            }
            return Selectors.firstAllowed(candidates, table[slot], ctx);
        }
    }
}
