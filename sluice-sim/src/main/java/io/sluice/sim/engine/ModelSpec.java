package io.sluice.sim.engine;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The shape of a decoder-only transformer, which is all the cost model needs to know about a model.
 *
 * <p>Values come from the models' published {@code config.json}: Llama 3.1 8B and 70B (GQA with 8 KV heads,
 * 128k context), Qwen3 32B (64 query heads of 128 dims over a 5,120 hidden size, 8 KV heads, 40,960 context).
 * Weights are BF16 (2 bytes per parameter) and so is the KV cache.
 *
 * @param name             the name used in profile names ({@code llama3-8b})
 * @param servedName       the model name the simulator serves by default
 * @param parameters       total parameter count, embeddings included
 * @param layers           transformer layers
 * @param hidden           hidden size
 * @param queryHeads       attention heads
 * @param kvHeads          key/value heads (GQA)
 * @param headDim          dimension of one head
 * @param vocab            vocabulary size (the LM head runs once per sampled token)
 * @param maxModelLen      longest sequence (prompt plus output) the model accepts
 */
public record ModelSpec(String name, String servedName, double parameters, int layers, int hidden, int queryHeads,
                        int kvHeads, int headDim, int vocab, int maxModelLen) {

    /** Bytes per weight and per KV element (BF16). */
    public static final int BYTES_PER_VALUE = 2;

    private static final Map<String, ModelSpec> KNOWN = new LinkedHashMap<>();

    static {
        add(new ModelSpec("llama3-8b", "llama-3-8b", 8.03e9, 32, 4096, 32, 8, 128, 128_256, 131_072));
        add(new ModelSpec("llama3-70b", "llama-3-70b", 70.6e9, 80, 8192, 64, 8, 128, 128_256, 131_072));
        add(new ModelSpec("qwen3-32b", "qwen3-32b", 32.8e9, 64, 5120, 64, 8, 128, 151_936, 40_960));
    }

    private static void add(ModelSpec m) {
        KNOWN.put(m.name(), m);
    }

    /** The model with this name. */
    public static Optional<ModelSpec> named(String name) {
        return Optional.ofNullable(KNOWN.get(name));
    }

    /** Names of the known models, in catalogue order. */
    public static String names() {
        return String.join(", ", KNOWN.keySet());
    }

    /** Bytes of all weights. */
    public double weightBytes() {
        return parameters * BYTES_PER_VALUE;
    }

    /** Parameters outside the embedding table and LM head: the ones every token passes through. */
    public double bodyParameters() {
        return parameters - 2.0 * vocab * hidden;
    }

    /** KV-cache bytes one token occupies, over all layers (K and V). */
    public long kvBytesPerToken() {
        return 2L * layers * kvHeads * headDim * BYTES_PER_VALUE;
    }

    /** Width of the attention's query projection (heads × head dimension). */
    public int queryDim() {
        return queryHeads * headDim;
    }
}
