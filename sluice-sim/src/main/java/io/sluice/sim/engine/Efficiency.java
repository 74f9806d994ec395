package io.sluice.sim.engine;

/**
 * How close vLLM gets to the hardware's peaks, per kind of work: the calibration knobs of the cost model.
 *
 * <p>Defaults come from the calibration in docs/simulator.md: decode of an 8B model at batch 1 reaches about
 * 77-80 % of HBM bandwidth on an A100 (a published vLLM sweep), large GEMMs about 65 % of dense BF16 peak (fitted
 * to published prefill-bound runs), attention less (it is split into many small kernels). The per-iteration
 * overhead is the scheduler, sampling and kernel launch time that CUDA graphs do not hide.
 *
 * @param gemmCompute            fraction of peak FLOP/s reached by the linear layers
 * @param weightBandwidth        fraction of peak bandwidth reached when streaming weights
 * @param attentionCompute       fraction of peak FLOP/s reached by attention
 * @param attentionBandwidth     fraction of peak bandwidth reached when reading the KV cache
 * @param iterationOverheadNanos fixed cost of every iteration
 * @param allReduceLatencyNanos  fixed cost of one tensor-parallel all-reduce
 */
public record Efficiency(double gemmCompute, double weightBandwidth, double attentionCompute,
                         double attentionBandwidth, long iterationOverheadNanos, long allReduceLatencyNanos) {

    /** The calibrated defaults. */
    public static final Efficiency DEFAULT = new Efficiency(0.65, 0.80, 0.50, 0.70, 400_000, 8_000);

    /** Checks the ranges. */
    public Efficiency {
        check("gemmCompute", gemmCompute);
        check("weightBandwidth", weightBandwidth);
        check("attentionCompute", attentionCompute);
        check("attentionBandwidth", attentionBandwidth);
        if (iterationOverheadNanos < 0 || allReduceLatencyNanos < 0) {
            throw new IllegalArgumentException("overheads cannot be negative");
        }
    }

    private static void check(String name, double v) {
        if (!(v > 0 && v <= 1)) {
            throw new IllegalArgumentException(name + " must be within (0, 1]: " + v);
        }
    }
}
