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
 * @param blockIds      ids of the prompt's blocks (may be empty: nothing shared), then, if {@code answerIds}, of the
 *                      answer's
 * @param blockTokens   tokens per id, a multiple of 16
 * @param model         the model asked for, if the workload says
 * @param adapter       the LoRA adapter, if any
 * @param tenant        the tenant ("" if none)
 * @param priority      the priority (0 if none)
 * @param session       the conversation, if known
 * @param sloTtftMillis the request's own time-to-first-token objective (0: the run's)
 * @param answerIds     the ids go on past the prompt over its answer, at the same block size, as a later prompt that
 *                      repeats the answer will have them ({@link #sequenceHashes()}; the generator's multi-turn
 *                      sessions); traces give ids for prompts only
 */
public record TraceRequest(long arrivalNanos, int promptTokens, int outputTokens, long[] blockIds, int blockTokens,
                           Optional<String> model, Optional<String> adapter, String tenant, int priority,
                           Optional<String> session, long sloTtftMillis, boolean answerIds) {

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
                Optional.empty(), "", 0, Optional.empty(), 0, false);
    }

    /** A copy arriving at another time. */
    public TraceRequest withArrival(long nanos) {
        return new TraceRequest(nanos, promptTokens, outputTokens, blockIds, blockTokens, model, adapter, tenant,
                priority, session, sloTtftMillis, answerIds);
    }

    /**
     * The chained hashes of the prompt's full 16-token blocks. Each id extends the chain with
     * {@link PromptHasher#nextSynthetic} (so an id's hash covers every id before it); an id of {@code blockTokens}
     * tokens stands for {@code blockTokens / 16} blocks, whose hashes are the id's chained hash mixed with the
     * block's index (SplitMix64's finalizer, a bijection, so they are distinct). Two prompts therefore share
     * exactly the 16-token blocks their ids say they share, at one seeded XXH3 per id rather than per block.
     */
    public long[] blockHashes() {
        return chainedHashes(promptTokens / PromptHasher.TOKENS_PER_BLOCK);
    }

    /**
     * The chained hashes of the whole sequence's full 16-token blocks, prompt then answer, as far as the ids go
     * (past the prompt only with {@code answerIds}: the next turn's prompt repeats the answer, and an engine keeps
     * what it computed cached). The prompt's part equals {@link #blockHashes()}.
     */
    public long[] sequenceHashes() {
        return chainedHashes((promptTokens + outputTokens) / PromptHasher.TOKENS_PER_BLOCK);
    }

    private long[] chainedHashes(int full) {
        int per = blockTokens / PromptHasher.TOKENS_PER_BLOCK;
        int n = Math.min(full, blockIds.length * per);
        long[] out = new long[n];
        long chain = 0;
        for (int i = 0; i < n; i++) {
            int k = i % per;
            if (k == 0) {
                chain = PromptHasher.nextSynthetic(chain, blockIds[i / per]);
            }
            out[i] = per == 1 ? chain : mix(chain + (k + 1) * 0x9E3779B97F4A7C15L);
        }
        return out;
    }

    /** SplitMix64's output function (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", 2014). */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
