package io.sluice.sim.engine;

import io.sluice.inference.PromptHasher;
import java.util.Arrays;

/**
 * The per-request side of the KV cache: which blocks a request holds, growing them as it computes, registering
 * full prompt blocks under their hashes, and giving them back (last block first) when it leaves the batch.
 *
 * <p>A request holds its hashed prompt positions first ({@code slots[0..heldHashed)}, a slot or -1 for a position
 * kept private), then {@code privateBlocks} more blocks for the rest of its sequence.
 */
final class BlockTable {

    private final KvCache kv;

    BlockTable(KvCache kv) {
        this.kv = kv;
    }

    /** Makes the request hold blocks for {@code target} tokens, or returns false if the cache cannot. */
    boolean ensure(EngineRequest r, int target) {
        int have = r.heldHashed + r.privateBlocks;
        int need = BlockTable.blocksFor(target) - have;
        if (need <= 0) {
            return true;
        }
        if (need > kv.freeBlocks()) {
            return false;
        }
        long[] hashes = r.blockHashes;
        int p = have;
        while (need > 0 && p < hashes.length) {
            if (r.slots == null) {
                r.slots = new int[hashes.length];
            }
            r.slots[r.heldHashed++] = kv.allocateHashed(hashes[p]);
            p++;
            need--;
        }
        if (need > 0) {
            kv.allocatePrivate(need);
            r.privateBlocks += need;
        }
        return true;
    }

    /** The most decode iterations that can run unchanged: until someone finishes or the KV cache is full. */
    int fusableSteps(EngineRequest[] batch, int batchSize, int maxSteps) {
        int kmax = maxSteps;
        for (int i = 0; i < batchSize; i++) {
            EngineRequest r = batch[i];
            kmax = Math.min(kmax, r.maxTokens - r.generated);
            if (r.resetAfter > 0) {
                kmax = Math.min(kmax, r.resetAfter - r.generated);
            }
        }
        if (kmax <= 1) {
            return 1;
        }
        int free = kv.freeBlocks();
        if (fusedNeed(batch, batchSize, kmax) <= free) {
            return kmax;
        }
        int lo = 1;
        int hi = kmax;
        while (hi - lo > 1) {
            int mid = (lo + hi) >>> 1;
            if (fusedNeed(batch, batchSize, mid) <= free) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return lo;
    }

    long fusedNeed(EngineRequest[] batch, int batchSize, int k) {
        long need = 0;
        for (int i = 0; i < batchSize; i++) {
            EngineRequest r = batch[i];
            int extra = BlockTable.blocksFor(r.computed + k) - (r.heldHashed + r.privateBlocks);
            if (extra > 0) {
                need += extra;
            }
        }
        return need;
    }

    void allocateFused(EngineRequest[] batch, int batchSize, int k) {
        int total = 0;
        for (int i = 0; i < batchSize; i++) {
            EngineRequest r = batch[i];
            int extra = BlockTable.blocksFor(r.computed + k) - (r.heldHashed + r.privateBlocks);
            if (extra > 0) {
                r.privateBlocks += extra;
                total += extra;
            }
        }
        kv.allocatePrivate(total);
    }

    /**
     * Before a request frees its blocks, gives every full block it computed past its prompt a hash, so the blocks
     * stay in the prefix cache, as in vLLM, where every full block is hashed from its token ids: the hash the
     * submitter gave for that position of the sequence ({@link EngineRequest#withSequenceHashes}: a next turn
     * repeating the answer finds it), else one unique to the request, chained after its prompt's hashes (only the
     * request's own recompute after a preemption can match those). Done when the blocks are freed rather than at
     * allocation: nothing can match a block before its request leaves the batch.
     */
    void cacheComputed(EngineRequest r) {
        int full = r.computed / Profile.BLOCK_TOKENS;
        long[] old = r.blockHashes;
        if (full <= old.length || r.privateBlocks == 0 || r.heldHashed < old.length) {
            return;
        }
        long[] hashes = Arrays.copyOf(old, full);
        long[] known = r.sequenceHashes;
        long previous = old.length == 0 ? 0 : old[old.length - 1];
        long salt = 0x5EED_0000_0000_0000L ^ r.id;
        for (int i = old.length; i < full; i++) {
            previous = i < known.length ? known[i] : PromptHasher.nextSynthetic(previous, salt + i);
            hashes[i] = previous;
        }
        int[] slots = r.slots == null ? new int[full] : Arrays.copyOf(r.slots, full);
        int adopt = Math.min(full - old.length, r.privateBlocks);
        for (int i = 0; i < adopt; i++) {
            slots[old.length + i] = kv.adoptPrivate(hashes[old.length + i]);
        }
        r.blockHashes = hashes;
        r.slots = slots;
        r.heldHashed = old.length + adopt;
        r.privateBlocks -= adopt;
    }

    /** Gives back every block of a request, last block first, so prompt tails are evicted before heads. */
    void release(EngineRequest r) {
        for (int i = r.heldHashed - 1; i >= 0; i--) {
            int slot = r.slots[i];
            if (slot >= 0) {
                kv.releaseHashed(slot);
            } else {
                kv.releasePrivate(1);
            }
        }
        kv.releasePrivate(r.privateBlocks);
        r.heldHashed = 0;
        r.privateBlocks = 0;
    }

    static int blocksFor(int tokens) {
        return (tokens + Profile.BLOCK_TOKENS - 1) / Profile.BLOCK_TOKENS;
    }
}
