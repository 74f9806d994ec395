package io.sluice.inference;

import io.sluice.config.InferenceConfig.Engine;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Reads a model server's {@code /metrics} page into a {@link ServerMetrics}, whichever engine it is.
 *
 * <p>Each engine names the same few facts differently; the mapping (with the sources it was taken from) is in
 * {@code docs/inference.md}. In short:
 * <ul>
 *   <li><b>vLLM</b>: {@code vllm:num_requests_waiting} (+ {@code vllm:num_requests_swapped} of the v0 engine),
 *       {@code vllm:num_requests_running}, {@code vllm:kv_cache_usage_perc} (or the deprecated
 *       {@code vllm:gpu_cache_usage_perc} when the new name is absent), {@code vllm:cache_config_info} labels
 *       {@code num_gpu_blocks} and {@code block_size}, and {@code vllm:lora_requests_info} labels
 *       {@code running_lora_adapters} and {@code max_lora} (the series with the latest timestamp value).</li>
 *   <li><b>SGLang</b>: {@code sglang:num_queue_reqs}, {@code sglang:num_running_reqs}, {@code sglang:token_usage},
 *       KV size from {@code sglang:cache_config_info} ({@code num_pages}, {@code page_size}) or
 *       {@code sglang:max_total_num_tokens}.</li>
 *   <li><b>TGI</b>: {@code tgi_queue_size}, {@code tgi_batch_current_size}; TGI exports no KV-cache use.</li>
 *   <li><b>Triton / TensorRT-LLM</b>: {@code nv_trt_llm_request_metrics} by {@code request_type} ({@code waiting},
 *       {@code scheduled}; older backends: {@code active} − {@code scheduled} waiting) and
 *       {@code nv_trt_llm_kv_cache_block_metrics} by {@code kv_cache_block_type} ({@code fraction}, or
 *       {@code used}/{@code max}; {@code tokens_per} is the block size).</li>
 *   <li><b>llama.cpp</b>: {@code llamacpp:requests_deferred}, {@code llamacpp:requests_processing},
 *       {@code llamacpp:kv_cache_usage_ratio}.</li>
 * </ul>
 * A server running several engines behind one port (vLLM data parallel, label {@code engine}) reports one series
 * per engine: counts and KV blocks are summed, KV use is averaged. A page with none of the engine's queue metrics
 * is refused ({@link #parse} throws, {@link #tryParse} returns null), so a wrong {@code engine} setting shows up as
 * stale metrics instead of an idle-looking server.
 *
 * <p>Thread-safe and stateless. A scrape every 100 ms of a 100 KB vLLM page costs one byte scan and a handful of
 * small allocations for the matched lines; it runs on the scraper's thread, never on an event loop.
 */
public final class EngineMetricsParser {

    private static final byte[] VLLM_WAITING = ascii("vllm:num_requests_waiting");
    private static final byte[] VLLM_SWAPPED = ascii("vllm:num_requests_swapped");
    private static final byte[] VLLM_RUNNING = ascii("vllm:num_requests_running");
    private static final byte[] VLLM_KV = ascii("vllm:kv_cache_usage_perc");
    private static final byte[] VLLM_KV_OLD = ascii("vllm:gpu_cache_usage_perc");
    private static final byte[] VLLM_CACHE_INFO = ascii("vllm:cache_config_info");
    private static final byte[] VLLM_LORA = ascii("vllm:lora_requests_info");
    private static final byte[] SGLANG_WAITING = ascii("sglang:num_queue_reqs");
    private static final byte[] SGLANG_RUNNING = ascii("sglang:num_running_reqs");
    private static final byte[] SGLANG_KV = ascii("sglang:token_usage");
    private static final byte[] SGLANG_CACHE_INFO = ascii("sglang:cache_config_info");
    private static final byte[] SGLANG_MAX_TOKENS = ascii("sglang:max_total_num_tokens");
    private static final byte[] TGI_WAITING = ascii("tgi_queue_size");
    private static final byte[] TGI_RUNNING = ascii("tgi_batch_current_size");
    private static final byte[] TRT_REQUESTS = ascii("nv_trt_llm_request_metrics");
    private static final byte[] TRT_KV = ascii("nv_trt_llm_kv_cache_block_metrics");
    private static final byte[] LLAMACPP_WAITING = ascii("llamacpp:requests_deferred");
    private static final byte[] LLAMACPP_RUNNING = ascii("llamacpp:requests_processing");
    private static final byte[] LLAMACPP_KV = ascii("llamacpp:kv_cache_usage_ratio");

    private final Engine engine;

    private EngineMetricsParser(Engine engine) {
        this.engine = engine;
    }

    /** The parser for an engine's metric names. */
    public static EngineMetricsParser of(Engine engine) {
        return new EngineMetricsParser(engine);
    }

    /** The engine whose names this parser reads. */
    public Engine engine() {
        return engine;
    }

    /**
     * Reads a page.
     *
     * @param page           the response body of {@code /metrics}
     * @param scrapedAtNanos when the scrape was sent (router clock)
     * @throws IllegalArgumentException if the page has none of the engine's queue metrics
     */
    public ServerMetrics parse(byte[] page, int offset, int length, long scrapedAtNanos) {
        ServerMetrics m = tryParse(page, offset, length, scrapedAtNanos);
        if (m == null) {
            throw new IllegalArgumentException("the page has none of " + engine.name().toLowerCase()
                    + "'s queue metrics (is the pool's inference.engine right?)");
        }
        return m;
    }

    /** Reads a page given as text. */
    public ServerMetrics parse(String page, long scrapedAtNanos) {
        byte[] bytes = page.getBytes(StandardCharsets.UTF_8);
        return parse(bytes, 0, bytes.length, scrapedAtNanos);
    }

    /** Reads a page; null if it has none of the engine's queue metrics. */
    public ServerMetrics tryParse(byte[] page, int offset, int length, long scrapedAtNanos) {
        Accumulator a = new Accumulator();
        PrometheusText.scan(page, offset, length, s -> visit(a, s));
        return a.build(engine, scrapedAtNanos);
    }

    private void visit(Accumulator a, PrometheusText.Sample s) {
        switch (engine) {
            case VLLM -> visitVllm(a, s);
            case SGLANG -> visitSglang(a, s);
            case TGI -> visitTgi(a, s);
            case TRITON -> visitTriton(a, s);
            case LLAMACPP -> visitLlamacpp(a, s);
            default -> throw new IllegalStateException(engine.name());
        }
    }

    private static void visitVllm(Accumulator a, PrometheusText.Sample s) {
        if (s.nameIs(VLLM_WAITING) || s.nameIs(VLLM_SWAPPED)) {
            a.waiting(s.value());
        } else if (s.nameIs(VLLM_RUNNING)) {
            a.running(s.value());
        } else if (s.nameIs(VLLM_KV)) {
            a.kv(s.value());
        } else if (s.nameIs(VLLM_KV_OLD)) {
            a.kvDeprecated(s.value());
        } else if (s.nameIs(VLLM_CACHE_INFO)) {
            a.blocks(parseLong(s.label("num_gpu_blocks")), parseLong(s.label("block_size")));
        } else if (s.nameIs(VLLM_LORA)) {
            a.lora(s.value(), s.label("running_lora_adapters"), parseLong(s.label("max_lora")));
        }
    }

    private static void visitSglang(Accumulator a, PrometheusText.Sample s) {
        if (s.nameIs(SGLANG_WAITING)) {
            a.waiting(s.value());
        } else if (s.nameIs(SGLANG_RUNNING)) {
            a.running(s.value());
        } else if (s.nameIs(SGLANG_KV)) {
            a.kv(s.value());
        } else if (s.nameIs(SGLANG_CACHE_INFO)) {
            a.blocks(parseLong(s.label("num_pages")), parseLong(s.label("page_size")));
        } else if (s.nameIs(SGLANG_MAX_TOKENS)) {
            a.fallbackBlocks((long) s.value(), 1);
        }
    }

    private static void visitTgi(Accumulator a, PrometheusText.Sample s) {
        if (s.nameIs(TGI_WAITING)) {
            a.waiting(s.value());
        } else if (s.nameIs(TGI_RUNNING)) {
            a.running(s.value());
        }
    }

    private static void visitTriton(Accumulator a, PrometheusText.Sample s) {
        if (s.nameIs(TRT_REQUESTS)) {
            String type = s.label("request_type");
            if (type == null) {
                return;
            }
            switch (type) {
                case "waiting" -> {
                    a.trtSawWaiting = true;
                    a.trtWaiting += nonNegative(s.value());
                }
                case "scheduled" -> a.trtScheduled += nonNegative(s.value());
                case "active" -> a.trtActive += nonNegative(s.value());
                default -> {
                    return;
                }
            }
            a.sawQueue = true;
        } else if (s.nameIs(TRT_KV)) {
            String type = s.label("kv_cache_block_type");
            if (type == null) {
                return;
            }
            switch (type) {
                case "fraction" -> a.kv(s.value());
                case "used" -> a.trtUsed += nonNegative(s.value());
                case "max" -> a.trtMax += nonNegative(s.value());
                case "tokens_per" -> a.blockSize = Math.max(a.blockSize, (int) nonNegative(s.value()));
                default -> {
                }
            }
        }
    }

    private static void visitLlamacpp(Accumulator a, PrometheusText.Sample s) {
        if (s.nameIs(LLAMACPP_WAITING)) {
            a.waiting(s.value());
        } else if (s.nameIs(LLAMACPP_RUNNING)) {
            a.running(s.value());
        } else if (s.nameIs(LLAMACPP_KV)) {
            a.kv(s.value());
        }
    }

    /** The facts gathered from one page. */
    private static final class Accumulator {
        boolean sawQueue;
        double waiting;
        double running;
        double kvSum;
        int kvCount;
        double kvDeprecatedSum;
        int kvDeprecatedCount;
        long blocks;
        int blockSize;
        long fallbackBlocks;
        int fallbackBlockSize;
        double loraStamp = Double.NEGATIVE_INFINITY;
        String loraRunning;
        int maxAdapters;
        boolean trtSawWaiting;
        double trtWaiting;
        double trtScheduled;
        double trtActive;
        double trtUsed;
        double trtMax;

        void waiting(double v) {
            sawQueue = true;
            waiting += nonNegative(v);
        }

        void running(double v) {
            sawQueue = true;
            running += nonNegative(v);
        }

        void kv(double v) {
            if (!Double.isNaN(v)) {
                kvSum += v;
                kvCount++;
            }
        }

        void kvDeprecated(double v) {
            if (!Double.isNaN(v)) {
                kvDeprecatedSum += v;
                kvDeprecatedCount++;
            }
        }

        void blocks(long count, long size) {
            if (count > 0) {
                blocks += count;
            }
            if (size > 0) {
                blockSize = (int) Math.max(blockSize, Math.min(size, Integer.MAX_VALUE));
            }
        }

        void fallbackBlocks(long count, int size) {
            if (count > 0) {
                fallbackBlocks += count;
                fallbackBlockSize = size;
            }
        }

        /** vLLM sets the LoRA info gauge to the time of its last update; the newest series is the current one. */
        void lora(double stamp, String runningAdapters, long max) {
            double t = Double.isNaN(stamp) ? 0 : stamp;
            if (t >= loraStamp) {
                loraStamp = t;
                loraRunning = runningAdapters;
                maxAdapters = (int) Math.max(0, Math.min(max, Integer.MAX_VALUE));
            }
        }

        ServerMetrics build(Engine engine, long scrapedAtNanos) {
            if (engine == Engine.TRITON && sawQueue) {
                // Backends from 24.x on report "waiting"; older ones only active (= scheduled + queued).
                waiting = trtSawWaiting ? trtWaiting : Math.max(0, trtActive - trtScheduled);
                running = trtScheduled > 0 ? trtScheduled : trtActive;
                if (kvCount == 0 && trtMax > 0) {
                    kv(trtUsed / trtMax);
                }
                if (trtMax > 0) {
                    blocks = (long) trtMax;
                }
            }
            if (!sawQueue) {
                return null;
            }
            double kv = kvCount > 0 ? kvSum / kvCount
                    : kvDeprecatedCount > 0 ? kvDeprecatedSum / kvDeprecatedCount : 0;
            long kvBlocks = blocks;
            int size = blockSize;
            if (kvBlocks == 0 && fallbackBlocks > 0) {
                kvBlocks = fallbackBlocks;
                size = fallbackBlockSize;
            }
            Set<String> adapters = new LinkedHashSet<>();
            if (loraRunning != null) {
                for (String name : loraRunning.split(",")) {
                    String t = name.strip();
                    if (!t.isEmpty()) {
                        adapters.add(t);
                    }
                }
            }
            return new ServerMetrics(clampCount(waiting), clampCount(running), Math.max(0, Math.min(1, kv)),
                    kvBlocks, size, adapters, maxAdapters, scrapedAtNanos);
        }
    }

    private static int clampCount(double v) {
        return (int) Math.min(Integer.MAX_VALUE, Math.round(v));
    }

    private static double nonNegative(double v) {
        return Double.isNaN(v) || v < 0 ? 0 : v;
    }

    private static long parseLong(String s) {
        if (s == null || s.isEmpty()) {
            return 0;
        }
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(s.strip());
            } catch (NumberFormatException e2) {
                return 0;
            }
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
