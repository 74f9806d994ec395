package io.sluice.balance;

import java.util.Arrays;

/**
 * Samples an index with probability proportional to its weight in O(1): Walker's alias method, built with Vose's
 * numerically stable variant (M. D. Vose, "A linear algorithm for generating random numbers with a given
 * distribution", IEEE TSE 17(9), 1991).
 *
 * <p>Each of the {@code n} columns holds a probability {@code prob[i]} of keeping {@code i} and an alias taken
 * otherwise. One 64-bit random number picks both the column (high 32 bits, multiply-shift) and the coin (low 32
 * bits), so a sample costs one random draw, two array reads and no allocation. Immutable; built per snapshot.
 */
final class AliasTable {

    private static final double TWO_POW_MINUS_32 = 0x1.0p-32;

    private final double[] prob;
    private final int[] alias;
    private final boolean uniform;

    private AliasTable(double[] prob, int[] alias, boolean uniform) {
        this.prob = prob;
        this.alias = alias;
        this.uniform = uniform;
    }

    /** Builds the table for positive weights. */
    static AliasTable of(double[] weights) {
        int n = weights.length;
        double sum = 0;
        boolean uniform = true;
        for (double w : weights) {
            if (!(w > 0)) {
                throw new IllegalArgumentException("weights must be positive: " + w);
            }
            sum += w;
            uniform &= w == weights[0];
        }
        double[] prob = new double[n];
        int[] alias = new int[n];
        if (uniform) {
            Arrays.fill(prob, 1.0);
            for (int i = 0; i < n; i++) {
                alias[i] = i;
            }
            return new AliasTable(prob, alias, true);
        }
        double[] scaled = new double[n];
        int[] small = new int[n];
        int[] large = new int[n];
        int smallCount = 0;
        int largeCount = 0;
        for (int i = 0; i < n; i++) {
            scaled[i] = weights[i] * n / sum;
            if (scaled[i] < 1.0) {
                small[smallCount++] = i;
            } else {
                large[largeCount++] = i;
            }
        }
        while (smallCount > 0 && largeCount > 0) {
            int s = small[--smallCount];
            int l = large[--largeCount];
            prob[s] = scaled[s];
            alias[s] = l;
            scaled[l] = scaled[l] + scaled[s] - 1.0;
            if (scaled[l] < 1.0) {
                small[smallCount++] = l;
            } else {
                large[largeCount++] = l;
            }
        }
        // What is left is 1 up to rounding error: keep the column itself.
        while (largeCount > 0) {
            int l = large[--largeCount];
            prob[l] = 1.0;
            alias[l] = l;
        }
        while (smallCount > 0) {
            int s = small[--smallCount];
            prob[s] = 1.0;
            alias[s] = s;
        }
        return new AliasTable(prob, alias, false);
    }

    /** Number of indices. */
    int size() {
        return prob.length;
    }

    /** Samples an index from one uniformly random 64-bit number. */
    int sample(long random) {
        int column = HashKeys.bucket(random, prob.length);
        if (uniform) {
            return column;
        }
        double coin = (random & 0xffffffffL) * TWO_POW_MINUS_32;
        return coin < prob[column] ? column : alias[column];
    }
}
