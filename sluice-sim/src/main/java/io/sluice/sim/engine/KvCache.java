package io.sluice.sim.engine;

/**
 * The KV cache of one engine: a fixed number of 16-token blocks, and a prefix cache over the blocks of prompts.
 *
 * <p>This follows vLLM's v1 {@code KVCacheManager} / {@code BlockPool}: a full prompt block is registered under
 * its chained hash when it is allocated; a request whose prompt starts with registered hashes reuses those blocks
 * (a reference count per block) instead of computing them; a block whose count falls to zero stays registered but
 * becomes free, at the tail of an LRU queue, and is only forgotten when a new allocation takes it from the head.
 * Requests free their blocks last-block-first, so the tail of a prompt is evicted before the prefix others share.
 *
 * <p>Two simplifications, both named in docs/simulator.md: blocks without a hash (the partial last prompt block,
 * generated tokens) are counted, not tracked, and are reused before any cached block; and a block whose hash is
 * already registered by another request is kept private instead of being registered twice.
 */
final class KvCache {

    private final int totalBlocks;
    private final long[] slotHash;
    private final int[] slotRefs;
    private final int[] prev;
    private final int[] next;
    private final int[] freeSlots;
    private final LongIntMap index;
    private int freeSlotCount;
    private int cleanFree;
    private int lruHead = -1;
    private int lruTail = -1;
    private int lruSize;
    private int lastEvictable;

    KvCache(int totalBlocks) {
        if (totalBlocks < 1) {
            throw new IllegalArgumentException("the KV cache needs at least one block: " + totalBlocks);
        }
        this.totalBlocks = totalBlocks;
        this.slotHash = new long[totalBlocks];
        this.slotRefs = new int[totalBlocks];
        this.prev = new int[totalBlocks];
        this.next = new int[totalBlocks];
        this.freeSlots = new int[totalBlocks];
        for (int i = 0; i < totalBlocks; i++) {
            freeSlots[i] = totalBlocks - 1 - i;
        }
        this.freeSlotCount = totalBlocks;
        this.cleanFree = totalBlocks;
        this.index = new LongIntMap(totalBlocks);
    }

    int totalBlocks() {
        return totalBlocks;
    }

    /** Blocks that an allocation can take: never used, or cached with no reference. */
    int freeBlocks() {
        return cleanFree + lruSize;
    }

    int usedBlocks() {
        return totalBlocks - freeBlocks();
    }

    /** Blocks that hold a registered prompt block, referenced or not. */
    int cachedBlocks() {
        return index.size();
    }

    /**
     * Counts the leading hashes that are registered, up to {@code max}; {@link #lastEvictable()} then says how
     * many of them are free (taking them shrinks the free pool).
     */
    int match(long[] hashes, int max) {
        int k = 0;
        int evictable = 0;
        while (k < max) {
            int slot = index.get(hashes[k]);
            if (slot == LongIntMap.MISSING) {
                break;
            }
            if (slotRefs[slot] == 0) {
                evictable++;
            }
            k++;
        }
        lastEvictable = evictable;
        return k;
    }

    /** Counts the leading hashes that are registered, up to {@code max}, changing nothing (an oracle's probe). */
    int peek(long[] hashes, int max) {
        int k = 0;
        while (k < max && index.get(hashes[k]) != LongIntMap.MISSING) {
            k++;
        }
        return k;
    }

    int lastEvictable() {
        return lastEvictable;
    }

    /** Takes a reference on the registered blocks of {@code hashes[0..k)} and writes their slots. */
    void acquire(long[] hashes, int k, int[] slots) {
        for (int i = 0; i < k; i++) {
            int slot = index.get(hashes[i]);
            if (slotRefs[slot]++ == 0) {
                unlink(slot);
            }
            slots[i] = slot;
        }
    }

    /**
     * Allocates the block of a full prompt block and registers it under its hash.
     *
     * @return the slot, or {@link LongIntMap#MISSING} if the hash is already registered (the block stays private)
     */
    int allocateHashed(long hash) {
        takePhysical();
        int slot = freeSlots[freeSlotCount - 1];
        if (!index.putIfAbsent(hash, slot)) {
            return LongIntMap.MISSING;
        }
        freeSlotCount--;
        slotHash[slot] = hash;
        slotRefs[slot] = 1;
        return slot;
    }

    /**
     * Registers a block its request already holds as private under a hash, so that it stays cached once freed;
     * returns the slot, or {@link LongIntMap#MISSING} if the hash is taken (the block stays private).
     */
    int adoptPrivate(long hash) {
        if (index.get(hash) != LongIntMap.MISSING) {
            return LongIntMap.MISSING;
        }
        int slot = freeSlots[--freeSlotCount];
        slotHash[slot] = hash;
        slotRefs[slot] = 1;
        index.put(hash, slot);
        return slot;
    }

    /** Allocates blocks that hold no prompt block (generated tokens, a partial block). */
    void allocatePrivate(int n) {
        int clean = Math.min(n, cleanFree);
        cleanFree -= clean;
        for (int i = clean; i < n; i++) {
            evict(lruHead);
        }
    }

    /** Drops a reference; a block nobody references becomes the most recently used free block. */
    void releaseHashed(int slot) {
        if (--slotRefs[slot] == 0) {
            linkTail(slot);
        }
    }

    void releasePrivate(int n) {
        cleanFree += n;
    }

    private void takePhysical() {
        if (cleanFree > 0) {
            cleanFree--;
        } else {
            evict(lruHead);
        }
    }

    private void evict(int slot) {
        if (slot < 0) {
            throw new IllegalStateException("KV cache over-allocated: no free block");
        }
        unlink(slot);
        index.remove(slotHash[slot]);
        freeSlots[freeSlotCount++] = slot;
    }

    private void unlink(int slot) {
        int p = prev[slot];
        int n = next[slot];
        if (p >= 0) {
            next[p] = n;
        } else {
            lruHead = n;
        }
        if (n >= 0) {
            prev[n] = p;
        } else {
            lruTail = p;
        }
        lruSize--;
    }

    private void linkTail(int slot) {
        prev[slot] = lruTail;
        next[slot] = -1;
        if (lruTail >= 0) {
            next[lruTail] = slot;
        } else {
            lruHead = slot;
        }
        lruTail = slot;
        lruSize++;
    }
}
