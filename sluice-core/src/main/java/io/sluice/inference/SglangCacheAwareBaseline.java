package io.sluice.inference;

import io.sluice.balance.PickContext;
import io.sluice.endpoint.Member;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code policy: sglang-cache-aware}: a re-implementation, for honest comparison, of the SGLang router's
 * {@code cache_aware} policy (sgl-router, Rust), from its documentation and source:
 * <ul>
 *   <li>The load of a worker is the router's own count of requests it sent there and that have not finished.</li>
 *   <li>The system is <em>imbalanced</em> when {@code max − min > balance_abs_threshold} (64) and
 *       {@code max > balance_rel_threshold · min} (1.5). Then the request goes to the least-loaded worker.</li>
 *   <li>Otherwise the approximate radix tree of each worker's past prompts is searched: if the best match covers
 *       more than {@code cache_threshold} (0.3) of the prompt, the request goes to that worker; else to the worker
 *       with the smallest tree (the most cache room).</li>
 *   <li>Either way the prompt is inserted into the chosen worker's tree; trees are bounded by
 *       {@code max_tree_size} (2<sup>24</sup> characters) with least-recently-used eviction.</li>
 * </ul>
 * Differences, all forced by Sluice's representation and documented in {@code docs/inference.md}: the tree is
 * Sluice's block index (64-byte blocks, so matches are counted in whole blocks rather than characters, and the tree
 * size in blocks: 2<sup>24</sup> / 64 = 262,144 per worker), and eviction happens on insert rather than on a 60 s
 * timer. The router has no saturation notion, so this policy never asks the flow controller to queue.
 */
final class SglangCacheAwareBaseline extends InferencePolicy {

    static final double CACHE_THRESHOLD = 0.3;
    static final int BALANCE_ABS_THRESHOLD = 64;
    static final double BALANCE_REL_THRESHOLD = 1.5;
    static final int TREE_BLOCKS = (1 << 24) / PromptHasher.BLOCK_BYTES;

    SglangCacheAwareBaseline(FleetState fleet, Supplier<RandomGenerator> random) {
        super(fleet, random);
    }

    @Override
    public String name() {
        return "sglang-cache-aware";
    }

    @Override
    Member pick(Candidates c, InferenceRequest r, InferenceExchange x, PickContext ctx, RandomGenerator random) {
        FleetState f = fleet;
        long now = f.clock().nanoTime();
        long max = Long.MIN_VALUE;
        long min = Long.MAX_VALUE;
        for (int i = 0; i < c.size; i++) {
            if (c.feasible[i]) {
                long load = load(c, i);
                max = Math.max(max, load);
                min = Math.min(min, load);
            }
        }
        boolean imbalanced = max - min > BALANCE_ABS_THRESHOLD && max > BALANCE_REL_THRESHOLD * min;
        int blocks = Math.min(r.blockHashes().length, f.maxBlocks());
        int chosen;
        if (imbalanced) {
            chosen = argMin(c, random, true);
        } else {
            int best = c.matchPrefix(f, r.blockHashes(), blocks);
            double rate = blocks == 0 ? 0 : (double) best / blocks;
            if (rate > CACHE_THRESHOLD) {
                chosen = argMaxMatch(c, random);
            } else {
                chosen = argMin(c, random, false);
            }
        }
        if (imbalanced) {
            c.matchPrefix(f, r.blockHashes(), blocks);
        }
        EndpointState s = c.states[chosen];
        int cached = Math.min(r.promptTokens(), c.matched[chosen] * FleetState.BLOCK_TOKENS);
        int uncached = Math.max(1, r.promptTokens() - cached);
        f.dispatchLocked(s, r, x, now, cached, uncached, uncached, uncached, false);
        return c.members[chosen];
    }

    /** The router's in-flight count: the data plane's, or the exchanges it booked, whichever it keeps. */
    private static long load(Candidates c, int i) {
        return Math.max(c.members[i].load().activeRequests(), c.states[i].inFlight);
    }

    private int argMin(Candidates c, RandomGenerator random, boolean byLoad) {
        int chosen = -1;
        long best = Long.MAX_VALUE;
        int ties = 0;
        for (int i = 0; i < c.size; i++) {
            if (!c.feasible[i]) {
                continue;
            }
            long v = byLoad ? load(c, i) : fleet.index.blocks(c.states[i].slot);
            if (v < best) {
                best = v;
                chosen = i;
                ties = 1;
            } else if (v == best && random.nextInt(++ties) == 0) {
                chosen = i;
            }
        }
        return chosen;
    }

    private static int argMaxMatch(Candidates c, RandomGenerator random) {
        int chosen = -1;
        int best = -1;
        int ties = 0;
        for (int i = 0; i < c.size; i++) {
            if (!c.feasible[i]) {
                continue;
            }
            if (c.matched[i] > best) {
                best = c.matched[i];
                chosen = i;
                ties = 1;
            } else if (c.matched[i] == best && random.nextInt(++ties) == 0) {
                chosen = i;
            }
        }
        return chosen;
    }
}
