package io.sluice.inference;

import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.endpoint.Member;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code policy: llm-d}: a re-implementation, for honest comparison, of the default scheduling profile of llm-d's
 * endpoint picker (the Gateway API inference extension EPP with the inference pool chart's
 * {@code default-plugins.yaml}), from its published configuration and plugin code:
 * <ul>
 *   <li>Scorers {@code queue-scorer} (weight 2): waiting requests, min-max normalised over the candidates,
 *       {@code (max − q) / (max − min)}, 1 when all are equal; {@code kv-cache-utilization-scorer} (2):
 *       {@code 1 − KV use}; {@code prefix-cache-scorer} (3): matched blocks ÷ the request's blocks, over at most
 *       256 blocks of 64 prompt bytes, from an LRU index of 31,250 blocks per server (or the server's
 *       {@code num_gpu_blocks} when it reports one) updated with every routed request.</li>
 *   <li>{@code max-score-picker}: the highest weighted sum; candidates are shuffled first, so ties go to a random
 *       one.</li>
 *   <li>The saturation detector in front of flow control: a server is saturated if its metrics are stale or it has
 *       5 or more waiting requests or 80 % KV use; the request is queued only when every server is. It does not
 *       remove individual saturated servers from scoring.</li>
 *   <li>Scores read the last scraped metrics as they are; the EPP does not add its own in-flight accounting between
 *       scrapes.</li>
 * </ul>
 * Model and adapter filtering is Sluice's ({@link Candidates}); the EPP serves one base model per pool.
 * Thresholds come from the pool's {@code saturation} settings (defaults equal the EPP's), weights are fixed.
 */
final class LlmdBaseline extends InferencePolicy {

    static final int PREFIX_CAPACITY = 31_250;
    static final int MAX_PREFIX_BLOCKS = 256;

    private final int satQueue;
    private final double satKv;

    LlmdBaseline(FleetState fleet, Supplier<RandomGenerator> random) {
        super(fleet, random);
        satQueue = fleet.config().saturation().queue();
        satKv = fleet.config().saturation().kvCache();
    }

    @Override
    public String name() {
        return "llm-d";
    }

    @Override
    Member pick(Candidates c, InferenceRequest r, InferenceExchange x, PickContext ctx, RandomGenerator random) {
        FleetState f = fleet;
        long now = f.clock().nanoTime();
        long stale = f.staleAfterNanos();
        int blocks = Math.min(r.blockHashes().length, Math.min(MAX_PREFIX_BLOCKS, f.maxBlocks()));
        c.matchPrefix(f, r.blockHashes(), blocks);
        boolean allSaturated = true;
        int minQ = Integer.MAX_VALUE;
        int maxQ = Integer.MIN_VALUE;
        for (int i = 0; i < c.size; i++) {
            if (!c.feasible[i]) {
                continue;
            }
            ServerMetrics m = c.states[i].metrics;
            int q = m == null ? 0 : m.waiting();
            double kv = m == null ? 0 : m.kvCacheUsage();
            c.waiting[i] = q;
            c.kv[i] = kv;
            boolean saturated = m == null || now - m.scrapedAtNanos() > stale || q >= satQueue || kv >= satKv;
            allSaturated &= saturated;
            minQ = Math.min(minQ, q);
            maxQ = Math.max(maxQ, q);
        }
        if (allSaturated) {
            throw NoEndpointException.of(NoEndpointException.Reason.SATURATED);
        }
        int chosen = -1;
        double top = Double.NEGATIVE_INFINITY;
        int ties = 0;
        for (int i = 0; i < c.size; i++) {
            if (!c.feasible[i]) {
                continue;
            }
            double queue = maxQ == minQ ? 1.0 : (double) (maxQ - c.waiting[i]) / (maxQ - minQ);
            double prefix = blocks == 0 ? 0 : (double) c.matched[i] / blocks;
            double score = 2 * queue + 2 * (1 - c.kv[i]) + 3 * prefix;
            if (score > top) {
                top = score;
                chosen = i;
                ties = 1;
            } else if (score == top && random.nextInt(++ties) == 0) {
                chosen = i;
            }
        }
        EndpointState s = c.states[chosen];
        int cached = Math.min(r.promptTokens(), c.matched[chosen] * FleetState.BLOCK_TOKENS);
        int uncached = Math.max(1, r.promptTokens() - cached);
        f.dispatchLocked(s, r, x, now, cached, uncached, uncached, uncached, false);
        return c.members[chosen];
    }
}
