package io.sluice.cli;

import io.sluice.config.Durations;
import io.sluice.sim.engine.Faults;
import io.sluice.sim.engine.Gpu;
import io.sluice.sim.engine.ModelSpec;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice sim}: GPU-free OpenAI-compatible model servers (DESIGN.md §7) on consecutive ports, until
 * interrupted.
 */
@Command(name = "sim", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run simulated vLLM-like model servers (OpenAI API, SSE streaming, /metrics with vLLM names, "
                + "/health) on consecutive ports until interrupted.",
            "Exit codes: 0 stopped, 1 could not listen, 2 bad input."})
public final class SimCommand implements Callable<Integer> {

    private static final int BAD_INPUT = 2;

    @Spec
    private CommandSpec spec;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8001",
            description = "first port (default: ${DEFAULT-VALUE}; 0: any free ports)")
    private int port;

    @Option(names = "--host", paramLabel = "ADDR", defaultValue = "127.0.0.1",
            description = "address to bind (default: ${DEFAULT-VALUE})")
    private String host;

    @Option(names = "--replicas", paramLabel = "N", defaultValue = "1", description = "servers to start")
    private int replicas;

    @Option(names = "--profile", paramLabel = "P", defaultValue = "a100-80g-llama3-8b",
            description = "GPU and model: <gpu>-<model>[-tp<N>] (default: ${DEFAULT-VALUE}), or 'instant': no "
                    + "compute time, for measuring a proxy's overhead")
    private String profile;

    @Option(names = "--model", paramLabel = "NAME", description = "model name to serve (default: the profile's)")
    private String model;

    @Option(names = "--lora", paramLabel = "NAME", split = ",", description = "LoRA adapters to serve")
    private List<String> adapters = List.of();

    @Option(names = "--max-loras", paramLabel = "N", description = "LoRA adapters resident at once (default 4)")
    private Integer maxLoras;

    @Option(names = "--lora-load", paramLabel = "DUR", defaultValue = "25ms",
            description = "time to load an adapter that is not resident (default: ${DEFAULT-VALUE})")
    private String loraLoad;

    @Option(names = "--max-num-seqs", paramLabel = "N", description = "running batch limit (vLLM max_num_seqs)")
    private Integer maxNumSeqs;

    @Option(names = "--max-num-batched-tokens", paramLabel = "N", description = "tokens per iteration "
            + "(vLLM max_num_batched_tokens)")
    private Integer maxNumBatchedTokens;

    @Option(names = "--default-max-tokens", paramLabel = "N", defaultValue = "256",
            description = "output tokens of a chat request without max_tokens (default: ${DEFAULT-VALUE})")
    private int defaultMaxTokens;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "random seed")
    private long seed;

    @Option(names = "--error-rate", paramLabel = "P", defaultValue = "0", description = "faults: HTTP 500 share")
    private double errorRate;

    @Option(names = "--reset-rate", paramLabel = "P", defaultValue = "0",
            description = "faults: share of connections reset mid-response")
    private double resetRate;

    @Option(names = "--stall-rate", paramLabel = "PER_S", defaultValue = "0",
            description = "faults: engine stalls per second")
    private double stallRate;

    @Option(names = "--stall", paramLabel = "DUR", defaultValue = "2s", description = "faults: stall length")
    private String stall;

    @Option(names = "--warmup", paramLabel = "DUR", defaultValue = "0s",
            description = "faults: /health answers 503 this long after start")
    private String warmup;

    @Option(names = "--cold-factor", paramLabel = "F", defaultValue = "1",
            description = "faults: iterations this many times slower right after warm-up")
    private double coldFactor;

    @Option(names = "--cold", paramLabel = "DUR", defaultValue = "30s",
            description = "faults: how long the cold slowdown takes to fade")
    private String cold;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        SimOptions options;
        try {
            Profile p = Profile.of(profile);
            if (maxNumSeqs != null) {
                p = p.withMaxNumSeqs(maxNumSeqs);
            }
            if (maxNumBatchedTokens != null) {
                p = p.withMaxNumBatchedTokens(maxNumBatchedTokens);
            }
            if (maxLoras != null || !adapters.isEmpty()) {
                p = p.withLoras(maxLoras != null ? maxLoras : p.maxLoras(), Durations.parse(loraLoad));
            }
            Faults faults = Faults.NONE.withErrorRate(errorRate).withResetRate(resetRate)
                    .withStalls(stallRate, Durations.parse(stall))
                    .withWarmup(Durations.parse(warmup), coldFactor, Durations.parse(cold));
            options = new SimOptions(host, port, replicas, p, model != null ? model : p.model().servedName(),
                    adapters, faults, seed, defaultMaxTokens);
        } catch (IllegalArgumentException e) {
            err.println("sluice sim: " + e.getMessage());
            err.println("known GPUs: " + Gpu.names() + "; known models: " + ModelSpec.names());
            err.flush();
            return BAD_INPUT;
        }
        SimServer server;
        try {
            server = SimServer.start(options);
        } catch (IllegalStateException e) {
            err.println("sluice sim: " + e.getMessage());
            err.flush();
            return 1;
        }
        Profile p = options.profile();
        out.printf("sluice sim: %d x %s serving '%s' (KV cache %,d tokens, max_num_seqs %d, "
                        + "max_num_batched_tokens %d)%n", options.replicas(), p.name(), options.model(), p.kvTokens(),
                p.maxNumSeqs(), p.maxNumBatchedTokens());
        for (int port : server.ports()) {
            out.printf("  http://%s:%d/v1  (metrics: /metrics, health: /health)%n", host, port);
        }
        out.printf("try: curl -s http://%s:%d/v1/completions -H 'content-type: application/json' "
                + "-d '{\"model\":\"%s\",\"prompt\":\"Hello\",\"max_tokens\":16}'%n", host, server.ports().get(0),
                options.model());
        out.flush();
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "sim-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        stopped.await();
        return 0;
    }
}
