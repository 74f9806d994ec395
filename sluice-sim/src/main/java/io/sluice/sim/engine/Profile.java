package io.sluice.sim.engine;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * One simulated model server: an accelerator, a model, tensor parallelism, vLLM's scheduler limits and the
 * derived KV-cache size.
 *
 * <p>Names read {@code <gpu>-<model>[-tp<N>]}: {@code a100-80g-llama3-8b}, {@code h100-qwen3-32b-tp2}. Any known
 * GPU combines with any known model; the combination is rejected only if the weights do not fit.
 *
 * <p>The KV cache gets what vLLM gives it: {@code gpu_memory_utilization} (0.9) of device memory, less the
 * weight shard, less a reserve for activations, CUDA graphs and communication buffers (vLLM measures these with a
 * profiling run; 2 GiB here). Scheduler limits are vLLM V1's OpenAI-server defaults: 8,192 batched tokens and
 * 1,024 sequences on GPUs of 70 GiB or more other than the A100, 2,048 and 256 elsewhere.
 *
 * @param name                the profile name
 * @param gpu                 the accelerator (per GPU; the server uses {@code tensorParallel} of them)
 * @param model               the model
 * @param tensorParallel      GPUs per server
 * @param efficiency          calibration factors
 * @param maxNumSeqs          {@code max_num_seqs}: most requests in the running batch
 * @param maxNumBatchedTokens {@code max_num_batched_tokens}: most tokens in one iteration (chunked prefill)
 * @param maxLoras            {@code max_loras}: LoRA adapters resident at once (0: LoRA disabled)
 * @param loraLoadDelay       time to load an adapter that is not resident
 * @param kvBlocks            KV-cache blocks of {@link #BLOCK_TOKENS} tokens
 * @param maxModelLen         longest sequence accepted (the model's, capped at the KV capacity)
 */
public record Profile(String name, Gpu gpu, ModelSpec model, int tensorParallel, Efficiency efficiency,
                      int maxNumSeqs, int maxNumBatchedTokens, int maxLoras, Duration loraLoadDelay, int kvBlocks,
                      int maxModelLen) {

    /** Tokens per KV block (vLLM's default block size). */
    public static final int BLOCK_TOKENS = 16;

    /** vLLM's default {@code gpu_memory_utilization}. */
    public static final double GPU_MEMORY_UTILIZATION = 0.9;

    /** Memory kept for activations, CUDA graphs and NCCL buffers, per GPU. */
    public static final long RUNTIME_RESERVE_BYTES = 2L << 30;

    /** Checks the limits. */
    public Profile {
        if (tensorParallel < 1 || maxNumSeqs < 1 || maxNumBatchedTokens < 1 || maxLoras < 0 || kvBlocks < 1
                || maxModelLen < 1) {
            throw new IllegalArgumentException("profile " + name + " has a non-positive limit");
        }
    }

    /**
     * The name of the test profile with no compute time: {@code sluice sim --profile instant} (see
     * {@link #instant()}).
     */
    public static final String INSTANT = "instant";

    /** KV blocks of the {@link #instant()} profile: 8,388,608 tokens, 150 prompts of 55,000 tokens on one server. */
    static final int INSTANT_KV_BLOCKS = 1 << 19;

    /** The three profiles the simulator documents and calibrates. */
    public static final String[] DOCUMENTED = {"a100-80g-llama3-8b", "h100-llama3-8b", "h100-qwen3-32b-tp2"};

    /**
     * Parses a profile name.
     *
     * @throws IllegalArgumentException naming what is unknown and what is known
     */
    public static Profile of(String name) {
        if (name.equals(INSTANT)) {
            return instant();
        }
        String rest = null;
        Gpu gpu = null;
        for (Map.Entry<String, Gpu> e : Gpu.known().entrySet()) {
            String prefix = e.getKey() + "-";
            if (name.startsWith(prefix) && (gpu == null || prefix.length() > gpu.name().length() + 1)) {
                gpu = e.getValue();
                rest = name.substring(prefix.length());
            }
        }
        if (gpu == null && Gpu.named(name).isPresent()) {
            throw new IllegalArgumentException("profile '" + name + "': no model (write " + name + "-<model>, models: "
                    + ModelSpec.names() + ")");
        }
        if (gpu == null) {
            throw new IllegalArgumentException("profile '" + name + "': unknown GPU (known: " + Gpu.names()
                    + "; write <gpu>-<model>[-tp<N>], e.g. a100-80g-llama3-8b, or "
                    + INSTANT + " for a test server with no compute time)");
        }
        int tp = 1;
        int tpAt = rest.lastIndexOf("-tp");
        if (tpAt > 0) {
            try {
                tp = Integer.parseInt(rest.substring(tpAt + 3));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("profile '" + name + "': '" + rest.substring(tpAt + 1)
                        + "' is not tp<N>");
            }
            if (tp < 1 || tp > 8 || Integer.bitCount(tp) != 1) {
                throw new IllegalArgumentException("profile '" + name + "': tensor parallelism must be 1, 2, 4 or 8");
            }
            rest = rest.substring(0, tpAt);
        }
        String modelName = rest;
        ModelSpec model = ModelSpec.named(modelName).orElseThrow(() -> new IllegalArgumentException(
                "profile '" + name + "': unknown model '" + modelName + "' (known: " + ModelSpec.names() + ")"));
        return derive(name, gpu, model, tp);
    }

    /**
     * A test profile for measuring what sits in front of the engine (a proxy's overhead), not the engine: every
     * iteration takes 1 ns, so a request's first token comes as soon as the server has parsed it and the engine
     * thread has run one iteration. Everything else is real: the prompt is parsed and hashed into blocks, the KV
     * cache and prefix cache keep their accounting (cache hits show in {@code /metrics}), tokens stream as SSE one
     * iteration at a time. The model's shape is Llama 3 8B's (128k context); the limits are wide so that nothing
     * queues: 1,024 sequences, 131,072 batched tokens (a 220 KB prompt is prefilled in one iteration) and
     * {@value #INSTANT_KV_BLOCKS} KV blocks (about 25 MB of heap per replica).
     */
    public static Profile instant() {
        Gpu gpu = new Gpu(INSTANT, 1e27, 1e27, 1L << 50, 1e27);
        ModelSpec model = ModelSpec.named("llama3-8b").orElseThrow();
        Efficiency zero = new Efficiency(1, 1, 1, 1, 0, 0);
        return new Profile(INSTANT, gpu, model, 1, zero, 1024, 131_072, 4, Duration.ofMillis(25),
                INSTANT_KV_BLOCKS, model.maxModelLen());
    }

    /** Parses a profile name, or returns empty. */
    public static Optional<Profile> find(String name) {
        try {
            return Optional.of(of(name));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static Profile derive(String name, Gpu gpu, ModelSpec model, int tp) {
        long blocks = kvBlocks(gpu, model, tp);
        if (blocks < 64) {
            throw new IllegalArgumentException("profile '" + name + "': " + model.name() + " does not fit on "
                    + tp + " x " + gpu.name() + " with room for a KV cache; use more tensor parallelism (-tp2)");
        }
        boolean big = gpu.memoryBytes() >= (70L << 30) && !gpu.name().startsWith("a100");
        int maxSeqs = big ? 1024 : 256;
        int maxTokens = big ? 8192 : 2048;
        int maxLen = (int) Math.min(model.maxModelLen(), blocks * BLOCK_TOKENS);
        return new Profile(name, gpu, model, tp, Efficiency.DEFAULT, maxSeqs, maxTokens, 4,
                Duration.ofMillis(25), (int) Math.min(Integer.MAX_VALUE, blocks), maxLen);
    }

    /** KV blocks left on {@code tp} GPUs after weights and the runtime reserve. */
    static long kvBlocks(Gpu gpu, ModelSpec model, int tp) {
        double perGpu = gpu.memoryBytes() * GPU_MEMORY_UTILIZATION - model.weightBytes() / tp
                - RUNTIME_RESERVE_BYTES;
        if (perGpu <= 0) {
            return 0;
        }
        double tokens = perGpu / ((double) model.kvBytesPerToken() / tp);
        return (long) (tokens / BLOCK_TOKENS);
    }

    /** KV capacity in tokens. */
    public long kvTokens() {
        return (long) kvBlocks * BLOCK_TOKENS;
    }

    /** A copy with another {@code max_num_seqs}. */
    public Profile withMaxNumSeqs(int value) {
        return new Profile(name, gpu, model, tensorParallel, efficiency, value, maxNumBatchedTokens, maxLoras,
                loraLoadDelay, kvBlocks, maxModelLen);
    }

    /** A copy with another {@code max_num_batched_tokens}. */
    public Profile withMaxNumBatchedTokens(int value) {
        return new Profile(name, gpu, model, tensorParallel, efficiency, maxNumSeqs, value, maxLoras,
                loraLoadDelay, kvBlocks, maxModelLen);
    }

    /** A copy with other LoRA settings. */
    public Profile withLoras(int slots, Duration loadDelay) {
        return new Profile(name, gpu, model, tensorParallel, efficiency, maxNumSeqs, maxNumBatchedTokens, slots,
                loadDelay, kvBlocks, maxModelLen);
    }

    /** A copy with another KV-cache size (tests, what-ifs); the longest sequence shrinks to fit. */
    public Profile withKvBlocks(int blocks) {
        int maxLen = (int) Math.min(model.maxModelLen(), (long) blocks * BLOCK_TOKENS);
        return new Profile(name, gpu, model, tensorParallel, efficiency, maxNumSeqs, maxNumBatchedTokens, maxLoras,
                loraLoadDelay, blocks, maxLen);
    }

    /** A copy with other efficiency factors. */
    public Profile withEfficiency(Efficiency value) {
        return new Profile(name, gpu, model, tensorParallel, value, maxNumSeqs, maxNumBatchedTokens, maxLoras,
                loraLoadDelay, kvBlocks, maxModelLen);
    }

    @Override
    public String toString() {
        return name;
    }
}
