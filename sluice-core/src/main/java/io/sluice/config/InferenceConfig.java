package io.sluice.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The inference scheduler of a pool with {@code policy: inference}: which engine metrics to read, how to weigh
 * them, when an endpoint counts as saturated, and the central queue that holds requests when all are.
 *
 * @param engine      the model server kind, which decides the metric names scraped
 * @param metrics     where and how often to scrape
 * @param models      models the pool serves (when endpoints do not list their own)
 * @param scorers     weight of each scorer ({@code prefix}, {@code queue}, {@code kv_cache}, {@code lora}, ...)
 * @param saturation  thresholds beyond which an endpoint takes no new request
 * @param headers     request headers carrying session, priority (objective) and tenant
 * @param flowControl the central queue
 */
public record InferenceConfig(Engine engine, Metrics metrics, List<String> models, Map<String, Integer> scorers,
                              Saturation saturation, Headers headers, FlowControl flowControl) {

    /** Model servers whose metric names Sluice knows. */
    public enum Engine { VLLM, SGLANG, TGI, TRITON, LLAMACPP }

    /**
     * Scraping of engine metrics.
     *
     * @param path       the metrics path
     * @param interval   time between scrapes
     * @param staleAfter metrics older than this are not trusted
     */
    public record Metrics(String path, Duration interval, Duration staleAfter) {
    }

    /**
     * Saturation thresholds.
     *
     * @param queue   waiting requests at or above which an endpoint is saturated
     * @param kvCache KV-cache use (0-1) at or above which an endpoint is saturated
     */
    public record Saturation(int queue, double kvCache) {
    }

    /**
     * Header names.
     *
     * @param session  names a conversation, for affinity
     * @param priority names the request's objective or priority
     * @param tenant   names the tenant, for fair sharing
     */
    public record Headers(String session, String priority, String tenant) {
    }

    /**
     * The central queue.
     *
     * @param maxQueue     requests held at most (then 503)
     * @param queueTimeout longest wait (then 429 with Retry-After)
     */
    public record FlowControl(int maxQueue, Duration queueTimeout) {
    }

    /** Scorer names accepted under {@code scorers}. */
    public static final List<String> SCORERS = List.of("prefix", "queue", "kv_cache", "lora", "session",
            "estimated_ttft");

    /** Copies the collections. */
    public InferenceConfig {
        models = List.copyOf(models);
        scorers = Map.copyOf(scorers);
    }

    static InferenceConfig read(ConfigNode n) {
        Engine engine = n.choice("engine", Engine.VLLM, Map.of("vllm", Engine.VLLM, "sglang", Engine.SGLANG,
                "tgi", Engine.TGI, "triton", Engine.TRITON, "llamacpp", Engine.LLAMACPP));
        Metrics metrics = n.objectOrDefaults("metrics", m -> new Metrics(
                m.string("path", "/metrics"),
                m.duration("interval", Duration.ofMillis(100), Duration.ofMillis(10), Duration.ofMinutes(1)),
                m.duration("stale_after", Duration.ofMillis(500), Duration.ofMillis(10), Duration.ofMinutes(10))));
        List<String> models = n.stringList("models");
        Map<String, Integer> scorers = n.has("scorers") ? n.intMap("scorers", 0, 100)
                : Map.of("prefix", 3, "queue", 2, "kv_cache", 2, "lora", 1);
        for (String s : scorers.keySet()) {
            if (!SCORERS.contains(s)) {
                n.error("scorers." + s, "unknown scorer (known: " + String.join(", ", SCORERS) + ")");
            }
        }
        Saturation saturation = n.objectOrDefaults("saturation", s -> new Saturation(
                s.integer("queue", 5, 0, 100_000), s.number("kv_cache", 0.8, 0, 1)));
        Headers headers = n.objectOrDefaults("headers", h -> new Headers(
                h.string("session", "x-session-id").toLowerCase(),
                h.string("priority", "x-gateway-inference-objective").toLowerCase(),
                h.string("tenant", "x-gateway-inference-fairness-id").toLowerCase()));
        FlowControl flow = n.objectOrDefaults("flow_control", f -> new FlowControl(
                f.integer("max_queue", 1000, 0, 10_000_000),
                f.duration("queue_timeout", Duration.ofSeconds(30), Duration.ofMillis(1), Duration.ofHours(1))));
        return new InferenceConfig(engine, metrics, models, scorers, saturation, headers, flow);
    }
}
