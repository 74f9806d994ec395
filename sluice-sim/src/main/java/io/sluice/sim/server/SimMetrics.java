package io.sluice.sim.server;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.sluice.sim.engine.Profile;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.Supplier;

/**
 * One replica's {@code /metrics}, under vLLM's metric names (V1 engine) so that anything that scrapes vLLM, the
 * Sluice proxy included, scrapes the simulator unchanged.
 *
 * <p>Gauges and counters read the engine's latest snapshot at scrape time; latency histograms are observed as
 * requests progress, with vLLM's bucket boundaries.
 */
final class SimMetrics {

    private static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
        0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    private static final double[] E2E_BUCKETS = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
        40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};
    private static final double[] ITL_BUCKETS = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75,
        1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final String model;
    private final Histogram ttft;
    private final Histogram e2e;
    private final Histogram queue;
    private final Histogram itl;
    private final Counter success;

    SimMetrics(String model, Profile profile, Supplier<EngineLoop.Snapshot> state) {
        this.model = model;
        GaugeWithCallback.builder().name("vllm:num_requests_running").help("Requests in the running batch.")
                .labelNames("model_name").callback(cb -> cb.call(state.get().running(), model)).register(registry);
        GaugeWithCallback.builder().name("vllm:num_requests_waiting").help("Requests waiting to be scheduled.")
                .labelNames("model_name").callback(cb -> cb.call(state.get().waiting(), model)).register(registry);
        GaugeWithCallback.builder().name("vllm:kv_cache_usage_perc").help("KV-cache usage, 1 means 100 percent.")
                .labelNames("model_name").callback(cb -> cb.call(state.get().kvUsage(), model)).register(registry);
        GaugeWithCallback.builder().name("vllm:gpu_cache_usage_perc")
                .help("KV-cache usage, 1 means 100 percent (name used before vLLM 0.10).")
                .labelNames("model_name").callback(cb -> cb.call(state.get().kvUsage(), model)).register(registry);
        Info.builder().name("vllm:cache_config").help("Information of the KV-cache configuration.")
                .labelNames("block_size", "cache_dtype", "enable_prefix_caching", "gpu_memory_utilization",
                        "num_gpu_blocks")
                .register(registry)
                .setLabelValues(String.valueOf(Profile.BLOCK_TOKENS), "auto", "True",
                        String.valueOf(Profile.GPU_MEMORY_UTILIZATION), String.valueOf(profile.kvBlocks()));
        GaugeWithCallback.builder().name("vllm:lora_requests_info").help("Running stats on LoRA requests.")
                .labelNames("max_lora", "running_lora_adapters", "waiting_lora_adapters")
                .callback(cb -> {
                    EngineLoop.Snapshot s = state.get();
                    cb.call(System.currentTimeMillis() / 1000.0, String.valueOf(profile.maxLoras()),
                            String.join(",", s.runningAdapters()), String.join(",", s.waitingAdapters()));
                }).register(registry);
        counter("vllm:prefix_cache_hits", "Prefix-cache hits, in tokens.", () -> state.get().prefixHits());
        counter("vllm:prefix_cache_queries", "Prefix-cache queries, in tokens.", () -> state.get().prefixQueries());
        counter("vllm:num_preemptions", "Cumulative number of preemptions.", () -> state.get().preemptions());
        counter("vllm:prompt_tokens", "Number of prefill tokens processed.", () -> state.get().promptTokens());
        counter("vllm:generation_tokens", "Number of generation tokens processed.",
                () -> state.get().generationTokens());
        success = Counter.builder().name("vllm:request_success").help("Count of successfully processed requests.")
                .labelNames("model_name", "finished_reason").register(registry);
        ttft = histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
                TTFT_BUCKETS);
        e2e = histogram("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.",
                E2E_BUCKETS);
        queue = histogram("vllm:request_queue_time_seconds", "Histogram of time spent waiting in the queue.",
                E2E_BUCKETS);
        itl = histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
                ITL_BUCKETS);
    }

    private void counter(String name, String help, Supplier<Long> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("model_name")
                .callback(cb -> cb.call(value.get(), model)).register(registry);
    }

    private Histogram histogram(String name, String help, double[] buckets) {
        return Histogram.builder().name(name).help(help).labelNames("model_name").classicUpperBounds(buckets)
                .register(registry);
    }

    void firstToken(double ttftSeconds, double queueSeconds) {
        ttft.labelValues(model).observe(ttftSeconds);
        queue.labelValues(model).observe(queueSeconds);
    }

    void interToken(double seconds) {
        itl.labelValues(model).observe(seconds);
    }

    void finished(double e2eSeconds) {
        e2e.labelValues(model).observe(e2eSeconds);
        success.labelValues(model, "length").inc();
    }

    /** The Prometheus text exposition (format 0.0.4). */
    byte[] scrape() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        try {
            PrometheusTextFormatWriter.create().write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
