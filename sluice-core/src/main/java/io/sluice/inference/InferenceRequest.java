package io.sluice.inference;

import java.util.Objects;
import java.util.Optional;

/**
 * What the inference scheduler knows about one LLM request: parsed from the OpenAI body and headers by the proxy,
 * or built from a trace row by the replay.
 *
 * @param model         the requested model (after alias resolution)
 * @param adapter       the LoRA adapter, if the model name names one
 * @param blockHashes   chained block hashes of the prompt ({@link PromptHasher})
 * @param promptTokens  prompt length in tokens (estimated when no tokenizer is at hand)
 * @param maxTokens     the output limit asked for (or expected output length in replay)
 * @param session       a conversation id, for affinity
 * @param priority      higher is served first; negative is sheddable
 * @param tenant        for fair sharing within a priority
 * @param sloTtftMillis the time-to-first-token objective (0: none)
 * @param stream        true if the client asked for server-sent events
 */
public record InferenceRequest(String model, Optional<String> adapter, long[] blockHashes, int promptTokens,
                               int maxTokens, Optional<String> session, int priority, String tenant,
                               long sloTtftMillis, boolean stream) {

    /** Checks the fields. */
    public InferenceRequest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(adapter, "adapter");
        Objects.requireNonNull(blockHashes, "blockHashes");
        Objects.requireNonNull(session, "session");
        Objects.requireNonNull(tenant, "tenant");
        if (promptTokens < 0 || maxTokens < 0) {
            throw new IllegalArgumentException("token counts cannot be negative");
        }
    }
}
