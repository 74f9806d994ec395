package io.sluice.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The inference scheduler of a pool with {@code policy: inference} (or one of the baselines {@code llm-d} and
 * {@code sglang-cache-aware}): which engine metrics to read, how to weigh them, when an endpoint counts as
 * saturated, how models are named, and the central queue that holds requests when every endpoint is saturated.
 *
 * <p>Every knob and its default is described in {@code docs/inference.md}.
 *
 * @param engine       the model server kind, which decides the metric names scraped
 * @param metrics      where and how often to scrape
 * @param models       models the pool serves (when endpoints do not list their own)
 * @param aliases      other names for a model ({@code llama3: llama-3-8b})
 * @param rewrites     weighted rewrites of a requested model, for canaries
 * @param scorers      weight of each scorer ({@code estimated_ttft}, {@code prefix}, {@code queue}, ...)
 * @param saturation   thresholds beyond which an endpoint takes no new request
 * @param loadGuard    how far from the fastest endpoint a cache-affine pick may be
 * @param prefixIndex  size of the router's approximate prefix index
 * @param headers      request headers carrying session, priority (objective), tenant and TTFT objective
 * @param priorities   objective name to priority (higher first; negative is sheddable)
 * @param flowControl  the central queue
 * @param maxBodyBytes largest request body the proxy buffers to read the prompt (then 413)
 */
public record InferenceConfig(Engine engine, Metrics metrics, List<String> models, Map<String, String> aliases,
                              List<Rewrite> rewrites, Map<String, Integer> scorers, Saturation saturation,
                              LoadGuard loadGuard, PrefixIndex prefixIndex, Headers headers,
                              Map<String, Integer> priorities, FlowControl flowControl, long maxBodyBytes) {

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
     * @param queue          waiting requests at or above which an endpoint is saturated
     * @param kvCache        KV-cache use (0-1) at or above which an endpoint is saturated
     * @param prefillBacklog prefill the router has sent an endpoint and not yet seen the first token of, in time at
     *                       the learned prefill rate, above which the endpoint is saturated for the {@code inference}
     *                       policy (more than this waits in the central queue, where it is ordered)
     */
    public record Saturation(int queue, double kvCache, Duration prefillBacklog) {
        /** Thresholds with the default prefill backlog. */
        public Saturation(int queue, double kvCache) {
            this(queue, kvCache, DEFAULT_PREFILL_BACKLOG);
        }

        /** Default {@code saturation.prefill_backlog}. */
        public static final Duration DEFAULT_PREFILL_BACKLOG = Duration.ofMillis(500);
    }

    /**
     * The load guard of {@code policy: inference}: an endpoint is eligible only if its estimated time to first
     * token is within {@code tolerance} of the fastest endpoint's, so cache affinity never outweighs a queue.
     *
     * @param tolerance              relative slack over the fastest estimate (0.1 = 10 %)
     * @param kvPenalty              how much a full KV cache slows prefill (cost multiplier {@code 1 + p·kv})
     * @param prefillTokensPerSecond the prefill rate assumed until measured TTFTs refine it
     * @param recomputeWeight        how many times the fleet's congestion a prefill computed again is charged
     */
    public record LoadGuard(double tolerance, double kvPenalty, int prefillTokensPerSecond, double recomputeWeight) {
    }

    /**
     * The router's approximate prefix index.
     *
     * @param capacityBlocks blocks remembered per endpoint (0: from the engine's {@code cache_config_info}, else
     *                       32768)
     * @param maxBlocks      leading blocks of a prompt that are indexed and matched
     */
    public record PrefixIndex(int capacityBlocks, int maxBlocks) {
    }

    /**
     * Header names.
     *
     * @param session  names a conversation, for affinity
     * @param priority names the request's objective or priority
     * @param tenant   names the tenant, for fair sharing
     * @param sloTtft  carries the request's time-to-first-token objective in milliseconds
     */
    public record Headers(String session, String priority, String tenant, String sloTtft) {
    }

    /** The order of one tenant's requests within a priority band of the central queue. */
    public enum QueueOrder {
        /** Arrival order. */
        FAIR_FIFO,
        /** Least predicted prefill first, with aging ({@link FlowControl#aging()}). */
        SHORTEST_FIRST
    }

    /**
     * The central queue.
     *
     * @param maxQueue     requests held at most (then 503)
     * @param queueTimeout longest wait (then 429 with Retry-After)
     * @param order        the order of a tenant's requests within a band
     * @param aging        under {@code shortest-first}, seconds of predicted prefill forgiven per second waited: a
     *                     request of predicted prefill {@code c} seconds is overtaken only by requests arriving
     *                     less than {@code c / aging} seconds after it
     */
    public record FlowControl(int maxQueue, Duration queueTimeout, QueueOrder order, double aging) {
        /** Default aging under {@code shortest-first}. */
        public static final double DEFAULT_AGING = 0.03;

        /** A queue of the default order and aging. */
        public FlowControl(int maxQueue, Duration queueTimeout) {
            this(maxQueue, queueTimeout, DEFAULT_ORDER, DEFAULT_AGING);
        }
    }

    /** Values of {@code flow_control.order}. */
    private static final Map<String, QueueOrder> QUEUE_ORDERS = orders();

    private static Map<String, QueueOrder> orders() {
        Map<String, QueueOrder> m = new LinkedHashMap<>();
        m.put("fair-fifo", QueueOrder.FAIR_FIFO);
        m.put("shortest-first", QueueOrder.SHORTEST_FIRST);
        return java.util.Collections.unmodifiableMap(m);
    }

    /** The central queue's order when {@code flow_control.order} is absent. */
    public static final QueueOrder DEFAULT_ORDER = QueueOrder.SHORTEST_FIRST;

    /**
     * A weighted rewrite of a requested model name: {@code llama-3-8b} becomes {@code llama-3-8b-v1} nine times in
     * ten and {@code llama-3-8b-v2} once.
     *
     * @param model   the requested name
     * @param targets served model names and their relative weights, in configuration order
     */
    public record Rewrite(String model, Map<String, Integer> targets) {
        /** Copies the targets, keeping their order. */
        public Rewrite {
            targets = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(targets));
        }
    }

    /** Scorer names accepted under {@code scorers}. */
    public static final List<String> SCORERS = List.of("estimated_ttft", "prefix", "queue", "kv_cache", "lora",
            "session");

    /** Scorer weights when {@code scorers} is absent. */
    public static final Map<String, Integer> DEFAULT_SCORERS = Map.of("estimated_ttft", 4, "prefix", 2,
            "queue", 1, "kv_cache", 1, "lora", 1, "session", 1);

    /** Objective names known when {@code priorities} is absent. */
    public static final Map<String, Integer> DEFAULT_PRIORITIES = Map.of("critical", 10, "standard", 0,
            "sheddable", -1);

    /** Copies the collections. */
    public InferenceConfig {
        models = List.copyOf(models);
        aliases = Map.copyOf(aliases);
        rewrites = List.copyOf(rewrites);
        scorers = Map.copyOf(scorers);
        priorities = Map.copyOf(priorities);
    }

    /** A copy with another prefix index sizing (the baselines size their index as their originals do). */
    public InferenceConfig withPrefixIndex(PrefixIndex sizing) {
        return new InferenceConfig(engine, metrics, models, aliases, rewrites, scorers, saturation, loadGuard, sizing,
                headers, priorities, flowControl, maxBodyBytes);
    }

    /** Every default, as if the pool had {@code inference: {}}. */
    public static InferenceConfig defaults() {
        return new InferenceConfig(Engine.VLLM,
                new Metrics("/metrics", Duration.ofMillis(100), Duration.ofMillis(500)),
                List.of(), Map.of(), List.of(), DEFAULT_SCORERS, new Saturation(5, 0.8),
                new LoadGuard(0.1, 1.0, 10_000, 6), new PrefixIndex(0, 4096),
                new Headers("x-session-id", "x-gateway-inference-objective", "x-gateway-inference-fairness-id",
                        "x-slo-ttft-ms"),
                DEFAULT_PRIORITIES, new FlowControl(1000, Duration.ofSeconds(30)), 8L << 20);
    }

    static InferenceConfig read(ConfigNode n) {
        InferenceConfig d = defaults();
        Engine engine = n.choice("engine", d.engine(), Map.of("vllm", Engine.VLLM, "sglang", Engine.SGLANG,
                "tgi", Engine.TGI, "triton", Engine.TRITON, "llamacpp", Engine.LLAMACPP));
        Metrics metrics = n.objectOrDefaults("metrics", m -> new Metrics(
                m.string("path", d.metrics().path()),
                m.duration("interval", d.metrics().interval(), Duration.ofMillis(10), Duration.ofMinutes(1)),
                m.duration("stale_after", d.metrics().staleAfter(), Duration.ofMillis(10), Duration.ofMinutes(10))));
        if (!metrics.path().startsWith("/")) {
            n.error("metrics.path", "'" + metrics.path() + "' must start with '/'");
        }
        if (metrics.staleAfter().compareTo(metrics.interval()) <= 0) {
            n.error("metrics.stale_after", Durations.format(metrics.staleAfter())
                    + " must be longer than the scrape interval " + Durations.format(metrics.interval()));
        }
        List<String> models = n.stringList("models");
        Map<String, String> aliases = n.stringMap("aliases");
        List<Rewrite> rewrites = n.list("rewrites", InferenceConfig::readRewrite);
        checkNames(n, models, aliases, rewrites);
        Map<String, Integer> scorers = n.has("scorers") ? n.intMap("scorers", 0, 100) : DEFAULT_SCORERS;
        for (String s : scorers.keySet()) {
            if (!SCORERS.contains(s)) {
                n.error("scorers." + s, "unknown scorer (known: " + String.join(", ", SCORERS) + ")");
            }
        }
        if (n.has("scorers") && scorers.values().stream().allMatch(w -> w == 0)) {
            n.error("scorers", "at least one scorer needs a weight above 0");
        }
        Saturation saturation = n.objectOrDefaults("saturation", s -> new Saturation(
                s.integer("queue", d.saturation().queue(), 1, 100_000),
                s.number("kv_cache", d.saturation().kvCache(), 0.05, 1),
                s.duration("prefill_backlog", d.saturation().prefillBacklog(), Duration.ofMillis(10),
                        Duration.ofMinutes(10))));
        LoadGuard guard = n.objectOrDefaults("load_guard", g -> new LoadGuard(
                g.number("tolerance", d.loadGuard().tolerance(), 0, 10),
                g.number("kv_penalty", d.loadGuard().kvPenalty(), 0, 100),
                g.integer("prefill_tokens_per_second", d.loadGuard().prefillTokensPerSecond(), 1, 100_000_000),
                g.number("recompute_weight", d.loadGuard().recomputeWeight(), 0, 100)));
        PrefixIndex index = n.objectOrDefaults("prefix_index", p -> new PrefixIndex(
                p.integer("capacity_blocks", d.prefixIndex().capacityBlocks(), 0, 16_777_216),
                p.integer("max_blocks", d.prefixIndex().maxBlocks(), 1, 1_048_576)));
        Headers headers = n.objectOrDefaults("headers", h -> new Headers(
                headerName(h, "session", d.headers().session()),
                headerName(h, "priority", d.headers().priority()),
                headerName(h, "tenant", d.headers().tenant()),
                headerName(h, "slo_ttft", d.headers().sloTtft())));
        Map<String, Integer> priorities = n.has("priorities") ? n.intMap("priorities", -1000, 1000)
                : DEFAULT_PRIORITIES;
        FlowControl flow = n.objectOrDefaults("flow_control", f -> new FlowControl(
                f.integer("max_queue", d.flowControl().maxQueue(), 0, 10_000_000),
                f.duration("queue_timeout", d.flowControl().queueTimeout(), Duration.ofMillis(1),
                        Duration.ofHours(1)),
                f.choice("order", d.flowControl().order(), QUEUE_ORDERS),
                f.number("aging", d.flowControl().aging(), 0.001, 1000)));
        long maxBody = n.bytes("max_body_bytes", d.maxBodyBytes(), 1024, 1L << 30);
        return new InferenceConfig(engine, metrics, models, aliases, rewrites, scorers, saturation, guard, index,
                headers, priorities, flow, maxBody);
    }

    private static Rewrite readRewrite(ConfigNode r) {
        String model = r.requiredString("model");
        Map<String, Integer> targets = r.intMap("targets", 0, 1_000_000);
        if (!r.has("targets")) {
            r.error("targets", "is required (served model: weight, e.g. {llama-3-8b-v1: 90, llama-3-8b-v2: 10})");
        } else if (targets.isEmpty() || targets.values().stream().mapToLong(Integer::longValue).sum() == 0) {
            r.error("targets", "needs at least one target with a weight above 0");
        }
        for (String t : targets.keySet()) {
            if (t.equals(model)) {
                r.error("targets." + t, "a model cannot be rewritten to itself");
            }
        }
        return new Rewrite(model, targets);
    }

    /** Aliases and rewrites must not chain or clash: each requested name resolves in one step. */
    private static void checkNames(ConfigNode n, List<String> models, Map<String, String> aliases,
                                   List<Rewrite> rewrites) {
        Set<String> rewritten = new java.util.HashSet<>();
        for (int i = 0; i < rewrites.size(); i++) {
            Rewrite r = rewrites.get(i);
            if (!rewritten.add(r.model())) {
                n.error("rewrites[" + i + "].model", "'" + r.model() + "' is rewritten twice");
            }
            if (aliases.containsKey(r.model())) {
                n.error("rewrites[" + i + "].model", "'" + r.model() + "' is also an alias; use one or the other");
            }
        }
        for (Map.Entry<String, String> a : aliases.entrySet()) {
            if (aliases.containsKey(a.getValue())) {
                n.error("aliases." + a.getKey(), "'" + a.getValue() + "' is itself an alias; name the model");
            }
            if (models.contains(a.getKey())) {
                n.error("aliases." + a.getKey(), "'" + a.getKey() + "' is a served model and cannot be an alias");
            }
        }
        for (int i = 0; i < rewrites.size(); i++) {
            for (String t : rewrites.get(i).targets().keySet()) {
                if (aliases.containsKey(t) || rewritten.contains(t)) {
                    n.error("rewrites[" + i + "].targets." + t, "'" + t
                            + "' is an alias or rewritten itself; name a served model");
                }
            }
        }
        List<String> seen = new ArrayList<>();
        for (int i = 0; i < models.size(); i++) {
            if (seen.contains(models.get(i))) {
                n.error("models[" + i + "]", "'" + models.get(i) + "' is listed twice");
            }
            seen.add(models.get(i));
        }
    }

    private static String headerName(ConfigNode h, String key, String defaultValue) {
        String name = h.string(key, defaultValue).toLowerCase(Locale.ROOT);
        if (!name.matches("[a-z0-9!#$%&'*+.^_`|~-]+")) {
            h.error(key, "'" + name + "' is not a valid header name");
        }
        return name;
    }
}
