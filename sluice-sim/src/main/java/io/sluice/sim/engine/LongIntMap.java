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

    /** Key at {@code 2i}, value at {@code 2i + 1}: one cache line per probe instead of two arrays' worth. */
    private final long[] table;
    private final int mask;
    private final int shift;
    private boolean hasZeroKey;
    private int zeroValue = MISSING;
    private int size;

    /** A map that can hold {@code capacity} entries at a load factor of at most one half. */
    LongIntMap(int capacity) {
        int slots = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1) << 1;
        table = new long[slots * 2];
        mask = slots - 1;
        shift = 64 - Integer.numberOfTrailingZeros(slots);
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
            long k = table[2 * i];
            if (k == key) {
                return (int) table[2 * i + 1];
            }
            if (k == 0) {
                return MISSING;
            }
            i = (i + 1) & mask;
        }
    }

    /** Puts a key that is absent and returns true, or returns false and changes nothing if it is present. */
    boolean putIfAbsent(long key, int value) {
        if (key == 0) {
            if (hasZeroKey) {
                return false;
            }
            hasZeroKey = true;
            zeroValue = value;
            size++;
            return true;
        }
        int i = slot(key);
        while (true) {
            long k = table[2 * i];
            if (k == key) {
                return false;
            }
            if (k == 0) {
                table[2 * i] = key;
                table[2 * i + 1] = value;
                size++;
                return true;
            }
            i = (i + 1) & mask;
        }
    }

    /** Puts a key, replacing its value if present. */
    void put(long key, int value) {
        if (key == 0) {
            if (!hasZeroKey) {
                size++;
            }
            hasZeroKey = true;
            zeroValue = value;
            return;
        }
        int i = slot(key);
        while (true) {
            long k = table[2 * i];
            if (k == key) {
                table[2 * i + 1] = value;
                return;
            }
            if (k == 0) {
                table[2 * i] = key;
                table[2 * i + 1] = value;
                size++;
                return;
            }
            i = (i + 1) & mask;
        }
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
        while (table[2 * i] != key) {
            if (table[2 * i] == 0) {
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
            long k = table[2 * j];
            if (k == 0) {
                break;
            }
            int home = slot(k);
            boolean between = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
            if (!between) {
                table[2 * hole] = k;
                table[2 * hole + 1] = table[2 * j + 1];
                hole = j;
            }
        }
        table[2 * hole] = 0;
        table[2 * hole + 1] = 0;
    }

    int size() {
        return size;
    }
}
