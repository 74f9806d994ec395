package io.sluice.sim.engine;

import java.util.Objects;
import java.util.Optional;

/**
 * One request inside a simulated engine: its shape, its progress and its timestamps.
 *
 * <p>Mutable, and owned by the engine's thread once submitted: read its progress from {@link EngineListener}
 * callbacks. Timestamps are the engine clock's nanoseconds, or -1 until the event happens.
 */
public final class EngineRequest {

    static final int NEW = 0;
    static final int WAITING = 1;
    static final int RUNNING = 2;
    static final int DONE = 3;

    private static final long[] NO_HASHES = new long[0];

    final long id;
    final int promptTokens;
    final int maxTokens;
    /** Hashes of the full blocks that may be cached: the prompt's, extended when the request is preempted. */
    long[] blockHashes;
    /**
     * Chained hashes of the whole sequence's full blocks (prompt, then answer), when the submitter knows them:
     * the answer's blocks stay in the prefix cache under these when the request finishes, as vLLM caches every full
     * block it computed, so a next turn whose prompt repeats this answer finds it. Empty if unknown.
     */
    long[] sequenceHashes = NO_HASHES;
    final String adapter;
    final EngineListener listener;
    private Object attachment;

    int adapterId = -1;
    int state = NEW;
    /** Tokens of the sequence so far: prompt plus generated. */
    int tokens;
    /** Tokens whose KV is computed. */
    int computed;
    int generated;
    /** Slots of the hashed prompt blocks held, or -1 for a hashed position kept private. */
    int[] slots;
    int heldHashed;
    int privateBlocks;
    int resetAfter = -1;
    boolean aborted;
    int cachedTokens;
    int preemptions;
    long arrivalNanos = -1;
    long firstScheduledNanos = -1;
    long firstTokenNanos = -1;
    long finishNanos = -1;

    private EngineRequest(long id, int promptTokens, int maxTokens, long[] blockHashes, String adapter,
                          EngineListener listener) {
        this.id = id;
        this.promptTokens = promptTokens;
        this.maxTokens = maxTokens;
        this.blockHashes = blockHashes;
        this.adapter = adapter;
        this.listener = listener;
        this.tokens = promptTokens;
    }

    /**
     * Creates a request.
     *
     * @param id           an id for logs and responses
     * @param promptTokens prompt length, at least 1
     * @param maxTokens    output tokens to generate, at least 1
     * @param blockHashes  chained hashes of the prompt's full 16-token blocks (may be shorter, or empty: no reuse)
     * @param adapter      the LoRA adapter, if any
     * @param listener     where progress goes
     */
    public static EngineRequest of(long id, int promptTokens, int maxTokens, long[] blockHashes,
                                   Optional<String> adapter, EngineListener listener) {
        if (promptTokens < 1 || maxTokens < 1) {
            throw new IllegalArgumentException("a request needs at least one prompt token and one output token");
        }
        long[] hashes = blockHashes.length > promptTokens / Profile.BLOCK_TOKENS
                ? java.util.Arrays.copyOf(blockHashes, promptTokens / Profile.BLOCK_TOKENS) : blockHashes;
        return new EngineRequest(id, promptTokens, maxTokens, hashes.length == 0 ? NO_HASHES : hashes,
                adapter.orElse(null), Objects.requireNonNull(listener, "listener"));
    }

    /** The id given at creation. */
    public long id() {
        return id;
    }

    /** Prompt length in tokens. */
    public int promptTokens() {
        return promptTokens;
    }

    /** Output tokens asked for. */
    public int maxTokens() {
        return maxTokens;
    }

    /** The LoRA adapter, if any. */
    public Optional<String> adapter() {
        return Optional.ofNullable(adapter);
    }

    /** Output tokens produced so far. */
    public int generated() {
        return generated;
    }

    /** Prompt tokens served from the prefix cache at the request's first admission. */
    public int cachedTokens() {
        return cachedTokens;
    }

    /** Times the request was preempted (its KV dropped and recomputed later). */
    public int preemptions() {
        return preemptions;
    }

    /** When the engine received it. */
    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** When it first joined the running batch (its queueing ends). */
    public long firstScheduledNanos() {
        return firstScheduledNanos;
    }

    /** When its first output token was ready. */
    public long firstTokenNanos() {
        return firstTokenNanos;
    }

    /** When it finished or failed. */
    public long finishNanos() {
        return finishNanos;
    }

    /** True once finished or failed. */
    public boolean done() {
        return state == DONE;
    }

    /**
     * Gives the chained hashes of the whole sequence (prompt then answer; the prompt's part equal to the block
     * hashes given at creation), so that the answer's blocks stay cached under them when the request finishes.
     * Hashes past the sequence's full blocks are ignored.
     *
     * @param hashes the sequence's chained block hashes, prompt first
     * @return this request
     */
    public EngineRequest withSequenceHashes(long[] hashes) {
        int cap = (promptTokens + maxTokens) / Profile.BLOCK_TOKENS;
        sequenceHashes = hashes.length > cap ? java.util.Arrays.copyOf(hashes, cap) : hashes;
        return this;
    }

    /** Whatever the submitter attached (the replay's or the server's per-request context). */
    public Object attachment() {
        return attachment;
    }

    /** Attaches the submitter's context. */
    public EngineRequest attach(Object value) {
        this.attachment = value;
        return this;
    }

    @Override
    public String toString() {
        return "EngineRequest[" + id + ", prompt " + promptTokens + ", " + generated + "/" + maxTokens + "]";
    }
}
