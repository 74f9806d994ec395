package io.sluice.sim.engine;

import java.util.Arrays;

/**
 * An open-addressing map from {@code long} keys to non-negative {@code int} values, for the prefix-cache index.
 *
 * <p>The KV cache looks up one chained block hash per 16 prompt tokens, hundreds per request and millions per
 * replay, so boxing every key in a {@code HashMap<Long, Integer>} would dominate the replay's cost. This is the
 * textbook linear-probing table with backward-shift deletion (Knuth, TAOCP vol. 3, algorithm 6.4R), sized once for
 * the cache's block count so it never rehashes. Keys are already XXH3 output, so a Fibonacci multiply spreads them.
 * Only what the cache needs is here: get, put, remove.
 */
final class LongIntMap {

    static final int MISSING = -1;

    private final long[] keys;
    private final int[] values;
    private final int mask;
    private final int shift;
    private boolean hasZeroKey;
    private int zeroValue = MISSING;
    private int size;

    /** A map that can hold {@code capacity} entries at a load factor of at most one half. */
    LongIntMap(int capacity) {
        int tableSize = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1) << 1;
        keys = new long[tableSize];
        values = new int[tableSize];
        Arrays.fill(values, MISSING);
        mask = tableSize - 1;
        shift = 64 - Integer.numberOfTrailingZeros(tableSize);
    }

    private int slot(long key) {
        return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
    }

    int get(long key) {
        if (key == 0) {
            return hasZeroKey ? zeroValue : MISSING;
        }
        int i = slot(key);
        while (true) {
            long k = keys[i];
            if (k == key) {
                return values[i];
            }
            if (k == 0) {
                return MISSING;
            }
            i = (i + 1) & mask;
        }
    }

    /** Puts a key that is not present. */
    void put(long key, int value) {
        if (key == 0) {
            hasZeroKey = true;
            zeroValue = value;
            size++;
            return;
        }
        int i = slot(key);
        while (keys[i] != 0) {
            if (keys[i] == key) {
                values[i] = value;
                return;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        size++;
    }

    void remove(long key) {
        if (key == 0) {
            if (hasZeroKey) {
                hasZeroKey = false;
                zeroValue = MISSING;
                size--;
            }
            return;
        }
        int i = slot(key);
        while (keys[i] != key) {
            if (keys[i] == 0) {
                return;
            }
            i = (i + 1) & mask;
        }
        size--;
        // Backward-shift deletion: move later entries of the probe run into the hole so lookups never stop early.
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            long k = keys[j];
            if (k == 0) {
                break;
            }
            int home = slot(k);
            boolean between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!between) {
                keys[hole] = k;
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = 0;
        values[hole] = MISSING;
    }

    int size() {
        return size;
    }
}
