package io.sluice.inference;

import java.util.Set;

/**
 * One reading of a model server's engine metrics, whichever engine it is: what the scheduler scores.
 *
 * <p>The proxy fills it from a {@code /metrics} scrape (vLLM, SGLang, TGI, Triton or llama.cpp names); the
 * replay fills it from the simulated engine at each simulated scrape. A reading is only as fresh as
 * {@link #scrapedAtNanos()}; the scheduler distrusts stale ones.
 *
 * @param waiting          requests queued in the engine, not yet running
 * @param running          requests in the running batch
 * @param kvCacheUsage     fraction of KV-cache blocks in use, 0-1
 * @param kvCacheBlocks    total KV-cache blocks (0 if unknown), for sizing the prefix index
 * @param blockSizeTokens  tokens per KV block (0 if unknown)
 * @param runningAdapters  LoRA adapters resident on the server
 * @param maxAdapters      LoRA slots (0 if unknown or no LoRA)
 * @param scrapedAtNanos   when the reading was taken (router clock)
 */
public record ServerMetrics(int waiting, int running, double kvCacheUsage, long kvCacheBlocks, int blockSizeTokens,
                            Set<String> runningAdapters, int maxAdapters, long scrapedAtNanos) {

    /** Copies the set. */
    public ServerMetrics {
        runningAdapters = Set.copyOf(runningAdapters);
    }
}
