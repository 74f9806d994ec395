package io.sluice.inference;

import java.util.Arrays;

/**
 * The router's approximate picture of which prompt prefixes each endpoint holds in its KV cache.
 *
 * <p><b>What it models.</b> A model server with prefix caching (vLLM's automatic prefix caching, SGLang's radix
 * cache) keeps the KV blocks of recent prompts and evicts the least recently used ones when memory runs out. The
 * router cannot see that cache (vLLM exports no block events over HTTP), so like llm-d's and the Gateway API
 * inference extension's "estimated" prefix scorer it keeps its own record: every routed request's chained block
 * hashes ({@link PromptHasher}) are credited to the endpoint it went to, each endpoint remembers at most its KV
 * capacity in blocks, and the least recently used blocks are forgotten first.
 *
 * <p><b>Layout.</b> One open-addressing table (linear probing, backward-shift deletion) maps a block hash to the
 * endpoints holding it: a single endpoint slot inline (the common case), or a shared bitset of slots when several
 * hold it. Each endpoint has a ring of the hashes it was credited, oldest first; recency is approximated with
 * CLOCK's second chance (a per-block "last touched" stamp is compared with the stamp it had when it entered the
 * ring). Memory is about 28 bytes per distinct block plus 12 per (block, endpoint) pair, and grows with use up to
 * the configured capacities.
 *
 * <p><b>Eviction order.</b> A request's new blocks enter the ring tail-first, so when an endpoint overflows it
 * forgets the ends of prompts before their beginnings, as vLLM does (freed blocks go to its free queue in reverse
 * order). This keeps the index <em>prefix-closed</em>: an endpoint that holds block <i>k</i> of a chain also holds
 * blocks 0..k−1, because block <i>k</i>'s hash can only be touched together with its predecessors.
 *
 * <p><b>Lookup.</b> Because the index is prefix-closed, "endpoint <i>e</i> holds block <i>k</i>" is monotone in
 * <i>k</i> for every <i>e</i>, and the longest match of every endpoint is found by bisection over the chain: the set
 * of endpoints holding block <i>mid</i> splits the candidates into those matching at least <i>mid</i>+1 blocks and
 * the rest. The cost is O(g · log n) table probes for a prompt of <i>n</i> blocks matched to <i>g</i> distinct
 * depths (usually one or two), independent of the number of endpoints, instead of one probe per block (llm-d's
 * greedy scan, which is why it caps matching at 256 blocks).
 *
 * <p><b>Sampling.</b> With a stride of <i>s</i> only every <i>s</i>-th hash of a chain is kept (a chained hash stands
 * for its whole prefix), so matching is at a granularity of <i>s</i> blocks for 1/<i>s</i> of the work and memory.
 * The {@code inference} policy uses 8 blocks (128 tokens): routing gains nothing from knowing the last few tokens of
 * a match, and a decision at 256 endpoints books a 2,048-token prompt in 16 table operations instead of 128. The
 * baselines keep their originals' granularity (every block).
 *
 * <p>Not thread-safe: the owning {@link FleetState} serialises access.
 */
final class PrefixIndex {

    private static final long ZERO_KEY = 0x9E3779B97F4A7C15L;
    private static final int NO_HOLDER = -1;

    // Table: slot i is table[2i] (the block hash; 0 marks a free slot) and table[2i + 1] (the holder in the high
    // 32 bits: >= 0 the single holder's slot, <= -2 bitset (-holder - 2) in the pool; the stamp of the last request
    // that touched the block in the low 32 bits). One cache line per probe.
    private long[] table;
    private int mask;
    private final int stride;
    private int entries;

    // Shared holder bitsets, words per set, with a free list threaded through the first word.
    private long[] pool = new long[64];
    private int words = 1;
    private int poolUsed;
    private int freeSet = -1;

    private Ring[] rings = new Ring[0];
    private int stamp;

    // Lookup scratch: a stack of (lo, hi, set) and a spare set.
    private int[] stackLo = new int[64];
    private int[] stackHi = new int[64];
    private long[] stackSets = new long[64];
    private long[] spare = new long[1];

    /** One endpoint's remembered blocks, oldest first. */
    private static final class Ring {
        long[] hashes = new long[16];
        int[] stamps = new int[16];
        int head;
        int size;
        int capacity;

        Ring(int capacity) {
            this.capacity = capacity;
        }

        void add(long hash, int stamp) {
            if (size == hashes.length) {
                grow();
            }
            int at = head + size;
            if (at >= hashes.length) {
                at -= hashes.length;
            }
            hashes[at] = hash;
            stamps[at] = stamp;
            size++;
        }

        void removeHead() {
            head++;
            if (head == hashes.length) {
                head = 0;
            }
            size--;
        }

        private void grow() {
            int n = hashes.length * 2;
            long[] h = new long[n];
            int[] s = new int[n];
            for (int i = 0; i < size; i++) {
                int from = (head + i) % hashes.length;
                h[i] = hashes[from];
                s[i] = stamps[from];
            }
            hashes = h;
            stamps = s;
            head = 0;
        }
    }

    /** An empty index of every block. */
    PrefixIndex() {
        this(1);
    }

    /**
     * An empty index that records every {@code stride}-th block of a chain (blocks stride−1, 2·stride−1, ...).
     * Because hashes are chained, the sampled hash of a block stands for the whole prefix up to it: matching works
     * the same at a granularity of {@code stride} blocks, for 1/stride of the work and memory.
     */
    PrefixIndex(int stride) {
        if (stride < 1) {
            throw new IllegalArgumentException("stride must be at least 1: " + stride);
        }
        this.stride = stride;
        table = new long[2048];
        mask = 1023;
    }

    private int holderAt(int idx) {
        return (int) (table[2 * idx + 1] >> 32);
    }

    private void setHolder(int idx, int holder) {
        table[2 * idx + 1] = ((long) holder << 32) | (table[2 * idx + 1] & 0xFFFF_FFFFL);
    }

    private int touchedAt(int idx) {
        return (int) table[2 * idx + 1];
    }

    private void touch(int idx, int stamp) {
        table[2 * idx + 1] = (table[2 * idx + 1] & 0xFFFF_FFFF_0000_0000L) | (stamp & 0xFFFF_FFFFL);
    }

    /** Makes room for endpoint slot {@code slot} with the given capacity in blocks. */
    void ensureSlot(int slot, int capacityBlocks) {
        if (slot >= rings.length) {
            rings = Arrays.copyOf(rings, Math.max(slot + 1, rings.length * 2));
        }
        if (rings[slot] == null) {
            rings[slot] = new Ring(capacityBlocks / stride);
        } else {
            rings[slot].capacity = capacityBlocks / stride;
            evict(slot);
        }
        int needWords = (slot >>> 6) + 1;
        if (needWords > words) {
            widen(needWords);
        }
    }

    /** Changes an endpoint's capacity (from its engine's {@code cache_config_info}), evicting if it shrank. */
    void setCapacity(int slot, int capacityBlocks) {
        Ring r = rings[slot];
        if (r.capacity != capacityBlocks / stride) {
            r.capacity = capacityBlocks / stride;
            evict(slot);
        }
    }

    /** An endpoint's capacity in blocks. */
    int capacity(int slot) {
        return slot < rings.length && rings[slot] != null ? rings[slot].capacity * stride : 0;
    }

    /** Blocks an endpoint is believed to hold. */
    int blocks(int slot) {
        return slot < rings.length && rings[slot] != null ? rings[slot].size * stride : 0;
    }

    /** Distinct index entries (sampled blocks) held by any endpoint. */
    int entries() {
        return entries;
    }

    /** True if the endpoint is believed to hold the block (for tests and diagnostics). */
    boolean holds(int slot, long hash) {
        int idx = find(key(hash));
        return idx >= 0 && holds(idx, slot);
    }

    /** Forgets everything an endpoint held (it left the pool). */
    void removeSlot(int slot) {
        Ring r = slot < rings.length ? rings[slot] : null;
        if (r == null) {
            return;
        }
        while (r.size > 0) {
            long h = r.hashes[r.head];
            r.removeHead();
            int idx = find(h);
            if (idx >= 0 && holds(idx, slot)) {
                removeHolder(idx, slot);
            }
        }
        rings[slot] = null;
    }

    /**
     * Credits a routed request's blocks to an endpoint: blocks it already held become recently used, new ones are
     * added (tail first), and the endpoint forgets its least recently used blocks beyond its capacity (within a
     * small slack, see {@link #evict(int, int)}).
     *
     * @param slot   the endpoint
     * @param hashes the request's chained block hashes
     * @param count  how many leading blocks to credit
     */
    void record(int slot, long[] hashes, int count) {
        int now = ++stamp;
        Ring ring = rings[slot];
        int added = 0;
        for (int i = count / stride - 1; i >= 0; i--) {
            long h = entryHash(hashes, i);
            int idx = findOrInsert(h);
            touch(idx, now);
            if (!holds(idx, slot)) {
                addHolder(idx, slot);
                ring.add(h, now);
                added++;
            }
        }
        evict(slot, 2 * added + 8);
    }

    /**
     * Finds, for every endpoint, how many leading blocks of a prompt it holds.
     *
     * @param hashes  the prompt's chained block hashes
     * @param blocks  how many leading blocks to match
     * @param matched out: matched[slot] is set, in blocks (a multiple of the stride), for every slot that holds at
     *                least one entry; other entries are left untouched (callers clear the slots they read)
     * @return the longest match over all endpoints, in blocks
     */
    int match(long[] hashes, int blocks, int[] matched) {
        int count = blocks / stride;
        if (count == 0) {
            return 0;
        }
        int w = words;
        if (stackSets.length < stackLo.length * w) {
            stackSets = new long[stackLo.length * w];
        }
        if (spare.length < w) {
            spare = new long[w];
        }
        int top = 0;
        if (!loadHolders(entryHash(hashes, 0), stackSets, 0)) {
            return 0;
        }
        stackLo[0] = 0;
        stackHi[0] = count - 1;
        top = 1;
        int best = 0;
        while (top > 0) {
            top--;
            int lo = stackLo[top];
            int hi = stackHi[top];
            int base = top * w;
            if (lo == hi) {
                // Every endpoint in the set holds blocks 0..lo and, by the split, not block lo+1.
                for (int k = 0; k < w; k++) {
                    long bits = stackSets[base + k];
                    while (bits != 0) {
                        int slot = (k << 6) + Long.numberOfTrailingZeros(bits);
                        matched[slot] = (lo + 1) * stride;
                        bits &= bits - 1;
                    }
                }
                best = Math.max(best, (lo + 1) * stride);
                continue;
            }
            int mid = (lo + hi + 1) >>> 1;
            boolean any = loadHolders(entryHash(hashes, mid), spare, 0);
            // spare := set ∩ holders(mid) ; set := set \ holders(mid)
            boolean deeper = false;
            boolean shallower = false;
            for (int k = 0; k < w; k++) {
                long set = stackSets[base + k];
                long in = any ? set & spare[k] : 0;
                spare[k] = in;
                stackSets[base + k] = set & ~in;
                deeper |= in != 0;
                shallower |= (set & ~in) != 0;
            }
            if (shallower) {
                stackLo[top] = lo;
                stackHi[top] = mid - 1;
                top++;
            }
            if (deeper) {
                if (top == stackLo.length) {
                    growStack();
                }
                System.arraycopy(spare, 0, stackSets, top * w, w);
                stackLo[top] = mid;
                stackHi[top] = hi;
                top++;
            }
            if (top + 1 >= stackLo.length) {
                growStack();
            }
        }
        return best;
    }

    private void growStack() {
        int n = stackLo.length * 2;
        stackLo = Arrays.copyOf(stackLo, n);
        stackHi = Arrays.copyOf(stackHi, n);
        stackSets = Arrays.copyOf(stackSets, n * words);
    }

    private static long key(long h) {
        return h == 0 ? ZERO_KEY : h;
    }

    /** The hash standing for entry {@code i} of a chain: its last block's. */
    private long entryHash(long[] hashes, int i) {
        return key(hashes[(i + 1) * stride - 1]);
    }

    /** Loads the holder set of a block into {@code dst[off..off+words)}; false if nobody holds it. */
    private boolean loadHolders(long h, long[] dst, int off) {
        int idx = find(h);
        if (idx < 0) {
            Arrays.fill(dst, off, off + words, 0L);
            return false;
        }
        int holder = holderAt(idx);
        if (holder >= 0) {
            Arrays.fill(dst, off, off + words, 0L);
            dst[off + (holder >>> 6)] = 1L << holder;
        } else {
            System.arraycopy(pool, (-holder - 2) * words, dst, off, words);
        }
        return true;
    }

    // ---- eviction -------------------------------------------------------------------------------------------

    private void evict(int slot) {
        evict(slot, Integer.MAX_VALUE);
    }

    /**
     * Brings an endpoint back to its capacity, spending at most {@code budget} ring steps (evictions and second
     * chances) unless the ring is more than {@link #slack} over capacity. Second chances come in clusters (the
     * blocks of a hot prefix are re-queued together), so spreading their cost over the next few requests keeps a
     * single decision from paying for a whole cluster; the index may hold a few blocks over capacity meanwhile.
     */
    private void evict(int slot, int budget) {
        Ring r = rings[slot];
        // One rotation at most: each touch earns a block one second chance, so the work is amortised over touches.
        int chances = r.size;
        int steps = 0;
        while (r.size > r.capacity && (steps++ < budget || r.size > r.capacity + slack(r))) {
            long h = r.hashes[r.head];
            int insertedAt = r.stamps[r.head];
            r.removeHead();
            int idx = find(h);
            if (idx < 0 || !holds(idx, slot)) {
                continue;
            }
            int last = touchedAt(idx);
            if (last - insertedAt > 0 && chances > 0 && r.capacity > 0) {
                chances--;
                r.add(h, last);   // used since it entered: a second chance
                continue;
            }
            removeHolder(idx, slot);
        }
    }

    /** How far over capacity a ring may run while eviction work is spread over requests. */
    private static int slack(Ring r) {
        return Math.max(8, r.capacity / 32);
    }

    // ---- holders --------------------------------------------------------------------------------------------

    private boolean holds(int idx, int slot) {
        int holder = holderAt(idx);
        if (holder >= 0) {
            return holder == slot;
        }
        if (holder == NO_HOLDER) {
            return false;
        }
        int base = (-holder - 2) * words;
        return (pool[base + (slot >>> 6)] & (1L << slot)) != 0;
    }

    private void addHolder(int idx, int slot) {
        int holder = holderAt(idx);
        if (holder == NO_HOLDER) {
            setHolder(idx, slot);
            return;
        }
        if (holder >= 0) {
            int set = allocSet();
            int base = set * words;
            pool[base + (holder >>> 6)] |= 1L << holder;
            pool[base + (slot >>> 6)] |= 1L << slot;
            setHolder(idx, -set - 2);
            return;
        }
        int base = (-holder - 2) * words;
        pool[base + (slot >>> 6)] |= 1L << slot;
    }

    private void removeHolder(int idx, int slot) {
        int holder = holderAt(idx);
        if (holder >= 0) {
            delete(idx);
            return;
        }
        int set = -holder - 2;
        int base = set * words;
        pool[base + (slot >>> 6)] &= ~(1L << slot);
        int remaining = 0;
        int last = -1;
        for (int k = 0; k < words; k++) {
            long bits = pool[base + k];
            remaining += Long.bitCount(bits);
            if (bits != 0) {
                last = (k << 6) + 63 - Long.numberOfLeadingZeros(bits);
            }
        }
        if (remaining == 0) {
            freeSet(set);
            delete(idx);
        } else if (remaining == 1) {
            freeSet(set);
            setHolder(idx, last);
        }
    }

    private int allocSet() {
        int set;
        if (freeSet >= 0) {
            set = freeSet;
            freeSet = (int) pool[set * words];
        } else {
            set = poolUsed++;
            if ((long) poolUsed * words > pool.length) {
                pool = Arrays.copyOf(pool, Math.max(pool.length * 2, poolUsed * words));
            }
        }
        Arrays.fill(pool, set * words, set * words + words, 0L);
        return set;
    }

    private void freeSet(int set) {
        Arrays.fill(pool, set * words, set * words + words, 0L);
        pool[set * words] = freeSet;
        freeSet = set;
    }

    /** Re-lays the shared bitsets out with more words per set (more than 64 × words endpoints). */
    private void widen(int newWords) {
        long[] next = new long[Math.max(64, poolUsed * newWords * 2)];
        for (int set = 0; set < poolUsed; set++) {
            System.arraycopy(pool, set * words, next, set * newWords, words);
        }
        // Rebuild the free list in the new layout.
        int f = freeSet;
        int newFree = -1;
        while (f >= 0) {
            int following = (int) pool[f * words];
            Arrays.fill(next, f * newWords, f * newWords + newWords, 0L);
            next[f * newWords] = newFree;
            newFree = f;
            f = following;
        }
        freeSet = newFree;
        pool = next;
        words = newWords;
        stackSets = new long[stackLo.length * newWords];
        spare = new long[newWords];
    }

    // ---- table ----------------------------------------------------------------------------------------------

    private static int spread(long h) {
        return (int) (h ^ (h >>> 32) ^ (h >>> 17));
    }

    private int find(long h) {
        long[] t = table;
        int i = spread(h) & mask;
        while (true) {
            long k = t[2 * i];
            if (k == h) {
                return i;
            }
            if (k == 0) {
                return -1;
            }
            i = (i + 1) & mask;
        }
    }

    /** The index of the block's entry, inserting an entry held by nobody (about to be held) if absent. */
    private int findOrInsert(long h) {
        if (entries + 1 > (mask + 1) * 3 / 4) {
            resize();
        }
        long[] t = table;
        int i = spread(h) & mask;
        while (true) {
            long k = t[2 * i];
            if (k == h) {
                return i;
            }
            if (k == 0) {
                t[2 * i] = h;
                t[2 * i + 1] = (long) NO_HOLDER << 32;
                entries++;
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    private void delete(int idx) {
        entries--;
        long[] t = table;
        int i = idx;
        int j = idx;
        while (true) {
            j = (j + 1) & mask;
            long k = t[2 * j];
            if (k == 0) {
                break;
            }
            int home = spread(k) & mask;
            // Move k back to i if i lies cyclically within [home, j).
            boolean between = i <= j ? (home <= i || home > j) : (home <= i && home > j);
            if (between) {
                t[2 * i] = k;
                t[2 * i + 1] = t[2 * j + 1];
                i = j;
            }
        }
        t[2 * i] = 0;
        t[2 * i + 1] = (long) NO_HOLDER << 32;
    }

    private void resize() {
        long[] old = table;
        int n = (mask + 1) * 2;
        long[] t = new long[2 * n];
        mask = n - 1;
        for (int i = 0; i < old.length; i += 2) {
            long k = old[i];
            if (k != 0) {
                int j = spread(k) & mask;
                while (t[2 * j] != 0) {
                    j = (j + 1) & mask;
                }
                t[2 * j] = k;
                t[2 * j + 1] = old[i + 1];
            }
        }
        table = t;
    }
}
