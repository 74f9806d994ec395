package io.sluice.sim.trace;

import io.sluice.inference.PromptHasher;
import java.util.Objects;
import java.util.Optional;

/**
 * One request of a workload, from a trace file or a generator: when it arrives and what it asks.
 *
 * <p>Prefix sharing is described the way traces describe it: {@code blockIds} are ids of the prompt's blocks of
 * {@code blockTokens} tokens each (512 in Mooncake traces, 16 in Sluice's own format), equal ids at equal
 * positions meaning equal content. {@link #blockHashes()} turns them into the chained 16-token block hashes that
 * the engine's prefix cache and the router's prefix index use.
 *
 * @param arrivalNanos  arrival time from the start of the workload
 * @param promptTokens  prompt length
 * @param outputTokens  output length
 * @param blockIds      ids of the prompt's blocks (may be empty: nothing shared)
 * @param blockTokens   tokens per id, a multiple of 16
 * @param model         the model asked for, if the workload says
 * @param adapter       the LoRA adapter, if any
 * @param tenant        the tenant ("" if none)
 * @param priority      the priority (0 if none)
 * @param session       the conversation, if known
 * @param sloTtftMillis the request's own time-to-first-token objective (0: the run's)
 */
public record TraceRequest(long arrivalNanos, int promptTokens, int outputTokens, long[] blockIds, int blockTokens,
                           Optional<String> model, Optional<String> adapter, String tenant, int priority,
                           Optional<String> session, long sloTtftMillis) {

    /** Checks the fields. */
    public TraceRequest {
        Objects.requireNonNull(blockIds, "blockIds");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(adapter, "adapter");
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(session, "session");
        if (blockTokens <= 0 || blockTokens % PromptHasher.TOKENS_PER_BLOCK != 0) {
            throw new IllegalArgumentException("block size " + blockTokens + " is not a multiple of "
                    + PromptHasher.TOKENS_PER_BLOCK);
        }
    }

    /** A request with only lengths (no sharing, no metadata). */
    public static TraceRequest of(long arrivalNanos, int promptTokens, int outputTokens) {
        return new TraceRequest(arrivalNanos, promptTokens, outputTokens, new long[0], 16, Optional.empty(),
                Optional.empty(), "", 0, Optional.empty(), 0);
    }

    /** A copy arriving at another time. */
    public TraceRequest withArrival(long nanos) {
        return new TraceRequest(nanos, promptTokens, outputTokens, blockIds, blockTokens, model, adapter, tenant,
                priority, session, sloTtftMillis);
    }

    /**
     * The chained hashes of the prompt's full 16-token blocks: each id becomes {@code blockTokens / 16} synthetic
     * blocks ({@link PromptHasher#nextSynthetic}), chained across ids, so two prompts share exactly the hashes of
     * the blocks their ids say they share.
     */
    public long[] blockHashes() {
        int full = promptTokens / PromptHasher.TOKENS_PER_BLOCK;
        int per = blockTokens / PromptHasher.TOKENS_PER_BLOCK;
        int n = Math.min(full, blockIds.length * per);
        long[] out = new long[n];
        long previous = 0;
        for (int i = 0; i < n; i++) {
            long id = blockIds[i / per];
            long sub = per == 1 ? id : id * per + i % per;
            previous = PromptHasher.nextSynthetic(previous, sub);
            out[i] = previous;
        }
        return out;
    }
}
