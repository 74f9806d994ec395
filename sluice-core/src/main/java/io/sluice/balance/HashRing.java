package io.sluice.balance;

import io.sluice.endpoint.Member;

/**
 * A consistent-hash ring over one snapshot's candidates: each endpoint owns points on a 64-bit circle, and a key
 * belongs to the endpoint owning the first point at or after it (D. Karger et al., "Consistent Hashing and Random
 * Trees", STOC 1997; the many-points-per-server layout of last.fm's Ketama and of Envoy's {@code RING_HASH}).
 *
 * <p>Point {@code j} of an endpoint is {@code XXH3-64(address + "_" + j)}, Envoy's key layout, so points depend only
 * on the endpoint's address and never on list order, other endpoints or a restart. An endpoint gets
 * {@code max(1, round(pointsPerWeight × weight))} points. {@code pointsPerWeight} is fixed by configuration (ring
 * size over the configured total weight) and is deliberately <em>not</em> recomputed from the current number of
 * endpoints: if it were (as Envoy's minimum-ring-size scaling does), removing one of ten endpoints would also add
 * points to the nine others and move about twice the keys it must. With it fixed, a membership or health change
 * moves only the keys of the endpoint that changed.
 *
 * <p>Points are stored sorted as sign-flipped longs (so signed comparisons order them as unsigned positions). A
 * binary search over them mispredicts a branch per step, which costs more than the search itself; so the ring also
 * keeps a bucket index on the top bits of the position (at least two buckets per point, up to 2<sup>20</sup>): a
 * lookup reads the bucket's first point and scans the one or two points in it. O(1), allocation-free.
 */
final class HashRing {

    /** Envoy's maximum ring size; more points buy nothing measurable. */
    static final int MAX_POINTS = 8_388_608;

    private static final int MAX_BUCKET_BITS = 20;

    private final long[] points;
    private final int[] owners;
    /** {@code bucketStart[b]}: the first point whose position's top bits are {@code b} or more; one extra at the end. */
    private final int[] bucketStart;
    private final int shift;

    private HashRing(long[] points, int[] owners) {
        this.points = points;
        this.owners = owners;
        int bits = Math.min(MAX_BUCKET_BITS, 64 - Long.numberOfLeadingZeros(Math.max(1, 2L * points.length - 1)));
        this.shift = 64 - bits;
        int buckets = 1 << bits;
        this.bucketStart = new int[buckets + 1];
        int p = 0;
        for (int b = 0; b < buckets; b++) {
            while (p < points.length && ((points[p] ^ Long.MIN_VALUE) >>> shift) < b) {
                p++;
            }
            bucketStart[b] = p;
        }
        bucketStart[buckets] = points.length;
    }

    /**
     * Builds the ring.
     *
     * @param candidates      the endpoints; owners are indices into this array
     * @param weights         their effective weights
     * @param pointsPerWeight points for one unit of weight
     */
    static HashRing of(Member[] candidates, double[] weights, double pointsPerWeight) {
        int n = candidates.length;
        int[] counts = new int[n];
        long total = 0;
        for (int i = 0; i < n; i++) {
            counts[i] = (int) Math.max(1, Math.min(MAX_POINTS, Math.round(pointsPerWeight * weights[i])));
            total += counts[i];
        }
        if (total > MAX_POINTS) {
            // Keep the ratios; only absurd weight ranges get here.
            double down = (double) MAX_POINTS / total;
            total = 0;
            for (int i = 0; i < n; i++) {
                counts[i] = (int) Math.max(1, Math.floor(counts[i] * down));
                total += counts[i];
            }
        }
        long[] points = new long[(int) total];
        int[] owners = new int[(int) total];
        String[] addresses = new String[n];
        int k = 0;
        for (int i = 0; i < n; i++) {
            addresses[i] = candidates[i].address().toString();
            String prefix = addresses[i] + "_";
            for (int j = 0; j < counts[i]; j++) {
                points[k] = HashKeys.of(prefix + j) ^ Long.MIN_VALUE;
                owners[k] = i;
                k++;
            }
        }
        sort(points, owners, addresses, 0, points.length - 1);
        return new HashRing(points, owners);
    }

    /** Number of points. */
    int size() {
        return points.length;
    }

    /** The point index that owns a key: the first point at or after it, wrapping around. */
    int pointOf(long key) {
        long target = key ^ Long.MIN_VALUE;
        int bucket = (int) (key >>> shift);
        int lo = bucketStart[bucket];
        int hi = bucketStart[bucket + 1];
        while (lo < hi && hi - lo <= 4) {
            if (points[lo] >= target) {
                return lo;
            }
            lo++;
        }
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (points[mid] < target) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == points.length ? 0 : lo;
    }

    /** The candidate index owning point {@code point} (any int: it wraps around the ring). */
    int ownerAt(int point) {
        return owners[Math.floorMod(point, owners.length)];
    }

    /** The candidate index owning a key. */
    int owner(long key) {
        return owners[pointOf(key)];
    }

    /** Sorts points (and owners with them) by position; equal positions by address, so order never matters. */
    private static void sort(long[] points, int[] owners, String[] addresses, int lo, int hi) {
        while (lo < hi) {
            if (hi - lo < 16) {
                for (int i = lo + 1; i <= hi; i++) {
                    for (int j = i; j > lo && less(points, owners, addresses, j, j - 1); j--) {
                        swap(points, owners, j, j - 1);
                    }
                }
                return;
            }
            int mid = (lo + hi) >>> 1;
            swap(points, owners, mid, hi);
            int store = lo;
            for (int i = lo; i < hi; i++) {
                if (less(points, owners, addresses, i, hi)) {
                    swap(points, owners, i, store++);
                }
            }
            swap(points, owners, store, hi);
            // Recurse into the smaller side, loop on the larger: O(log n) stack.
            if (store - lo < hi - store) {
                sort(points, owners, addresses, lo, store - 1);
                lo = store + 1;
            } else {
                sort(points, owners, addresses, store + 1, hi);
                hi = store - 1;
            }
        }
    }

    private static boolean less(long[] points, int[] owners, String[] addresses, int a, int b) {
        if (points[a] != points[b]) {
            return points[a] < points[b];
        }
        return addresses[owners[a]].compareTo(addresses[owners[b]]) < 0;
    }

    private static void swap(long[] points, int[] owners, int a, int b) {
        long p = points[a];
        points[a] = points[b];
        points[b] = p;
        int o = owners[a];
        owners[a] = owners[b];
        owners[b] = o;
    }
}
