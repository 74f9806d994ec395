package io.sluice.sim.engine;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * An accelerator as the cost model sees it: dense BF16 compute, memory bandwidth and memory size.
 *
 * <p>Figures are the vendors' data-sheet numbers (dense, no sparsity): NVIDIA A100 (SXM, 312 TFLOP/s BF16,
 * 1,555 GB/s for 40 GB and 2,039 GB/s for 80 GB), H100 SXM (989 TFLOP/s, 3,350 GB/s, 80 GB), H200 (989 TFLOP/s,
 * 4,800 GB/s, 141 GB). The efficiency factors that turn these peaks into what vLLM reaches live in {@link Profile}.
 *
 * @param name             the name used in profile names ({@code a100-80g}, {@code h100})
 * @param flopsPerSecond   peak dense BF16 FLOP/s
 * @param bytesPerSecond   peak HBM bandwidth in bytes/s
 * @param memoryBytes      usable device memory in bytes
 * @param linkBytesPerSecond NVLink bandwidth per direction, for tensor-parallel all-reduces
 */
public record Gpu(String name, double flopsPerSecond, double bytesPerSecond, long memoryBytes,
                  double linkBytesPerSecond) {

    private static final long GIB = 1L << 30;
    private static final Map<String, Gpu> KNOWN = new LinkedHashMap<>();

    static {
        add(new Gpu("a100-40g", 312e12, 1.555e12, 40 * GIB, 300e9));
        add(new Gpu("a100-80g", 312e12, 2.039e12, 80 * GIB, 300e9));
        add(new Gpu("h100", 989.4e12, 3.35e12, 80 * GIB, 450e9));
        add(new Gpu("h200", 989.4e12, 4.8e12, 140 * GIB, 450e9));
        add(new Gpu("l40s", 362e12, 0.864e12, 48 * GIB, 32e9));
    }

    private static void add(Gpu gpu) {
        KNOWN.put(gpu.name(), gpu);
    }

    /** The accelerator with this name. */
    public static Optional<Gpu> named(String name) {
        return Optional.ofNullable(KNOWN.get(name));
    }

    /** Every known accelerator, in a stable order. */
    public static Map<String, Gpu> known() {
        return Map.copyOf(KNOWN);
    }

    /** Names of the known accelerators, in catalogue order. */
    public static String names() {
        return String.join(", ", KNOWN.keySet());
    }
}
