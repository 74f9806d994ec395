package io.sluice.sim.engine;

/**
 * The time of one engine iteration, from a roofline per kernel family.
 *
 * <p>An iteration runs the batch's new tokens through the model once. Its time is
 * <pre>
 *   overhead
 * + max(linear FLOPs / (peak × gemm efficiency),  weight bytes / (bandwidth × weight efficiency))
 * + max(attention FLOPs / (peak × attention efficiency),  KV bytes read / (bandwidth × attention efficiency))
 * + tensor-parallel all-reduces
 * </pre>
 * The linear layers are one roofline (they stream all weights once, and compute 2 FLOPs per parameter per token:
 * memory-bound for a decode batch, compute-bound for a long prefill); attention is another (each query token does
 * 4 × layers × query width FLOPs per key it attends to, and reads each key's K and V once per request). This is
 * the model of Yuan et al., "LLM Inference Unveiled: Survey and Roofline Model Insights" (2024), and of the
 * analytical side of Vidur (Agrawal et al., MLSys 2024), split per kernel family so that a mixed prefill/decode
 * batch is neither all compute- nor all memory-bound. The LM head runs once per sampled token. Tensor parallelism
 * divides FLOPs and bytes by the GPU count and adds two ring all-reduces of the activations per layer.
 */
final class CostModel {

    private final double linearNanosPerToken;
    private final double lmHeadNanosPerSample;
    private final double weightNanos;
    private final double attentionNanosPerPair;
    private final double kvNanosPerToken;
    private final double overheadNanos;
    private final double allReduceFixedNanos;
    private final double allReduceNanosPerToken;

    CostModel(Profile p) {
        ModelSpec m = p.model();
        Gpu g = p.gpu();
        Efficiency e = p.efficiency();
        int tp = p.tensorParallel();
        double flops = g.flopsPerSecond() * tp;
        double bandwidth = g.bytesPerSecond() * tp;
        linearNanosPerToken = 2 * m.bodyParameters() / (flops * e.gemmCompute()) * 1e9;
        lmHeadNanosPerSample = 2.0 * m.vocab() * m.hidden() / (flops * e.gemmCompute()) * 1e9;
        weightNanos = m.weightBytes() / (bandwidth * e.weightBandwidth()) * 1e9;
        attentionNanosPerPair = 4.0 * m.layers() * m.queryDim() / (flops * e.attentionCompute()) * 1e9;
        kvNanosPerToken = (double) m.kvBytesPerToken() / (bandwidth * e.attentionBandwidth()) * 1e9;
        overheadNanos = e.iterationOverheadNanos();
        if (tp > 1) {
            double ring = 2.0 * (tp - 1) / tp;
            allReduceFixedNanos = 2.0 * m.layers() * e.allReduceLatencyNanos();
            allReduceNanosPerToken = 2.0 * m.layers() * ring * m.hidden() * ModelSpec.BYTES_PER_VALUE
                    / g.linkBytesPerSecond() * 1e9;
        } else {
            allReduceFixedNanos = 0;
            allReduceNanosPerToken = 0;
        }
    }

    /**
     * The time of an iteration.
     *
     * @param tokens   new tokens computed (prefill chunks plus one per decoding request)
     * @param samples  requests that sample a token in this iteration
     * @param pairs    attention (query, key) pairs over the batch
     * @param kvTokens KV entries read over the batch
     */
    double iterationNanos(long tokens, int samples, double pairs, double kvTokens) {
        return fixedNanos(tokens, samples) + attentionNanos(pairs, kvTokens);
    }

    /** The part of an iteration that does not depend on context lengths. */
    double fixedNanos(long tokens, int samples) {
        double linear = Math.max(tokens * linearNanosPerToken + samples * lmHeadNanosPerSample, weightNanos);
        double comm = tokens == 0 ? 0 : allReduceFixedNanos + tokens * allReduceNanosPerToken;
        return overheadNanos + linear + comm;
    }

    /**
     * Attention time per KV token of a decode step: a decoding request's attention pairs equal the KV entries it
     * reads, so its attention time is linear in its context length.
     */
    double decodeNanosPerContextToken() {
        return Math.max(attentionNanosPerPair, kvNanosPerToken);
    }

    /** The attention part of an iteration. */
    double attentionNanos(double pairs, double kvTokens) {
        return Math.max(pairs * attentionNanosPerPair, kvTokens * kvNanosPerToken);
    }
}
