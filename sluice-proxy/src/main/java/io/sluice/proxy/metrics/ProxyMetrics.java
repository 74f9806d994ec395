package io.sluice.proxy.metrics;

import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Every Prometheus metric Sluice exports, defined in one place (DESIGN.md §9).
 *
 * <p>Label sets are bounded: listener, pool and endpoint come from configuration, {@code code} is an HTTP status
 * and {@code reason} one of a fixed set. Data points used per request are looked up once and cached, so the
 * request path costs a map lookup and an add. Gauges that describe state (active requests, connections, health)
 * are read from the live objects at scrape time instead of being updated on every change.
 */
public final class ProxyMetrics {

    public static final String REQUESTS = "sluice_requests_total";
    public static final String REQUEST_DURATION = "sluice_request_duration_seconds";
    public static final String UPSTREAM_ACTIVE_REQUESTS = "sluice_upstream_active_requests";
    public static final String UPSTREAM_CONNECTIONS = "sluice_upstream_connections";
    public static final String ENDPOINT_UP = "sluice_endpoint_up";
    public static final String RETRIES = "sluice_retries_total";
    public static final String EJECTIONS = "sluice_ejections_total";
    public static final String EJECTION_OVERFLOWS = "sluice_ejection_overflows_total";
    public static final String RETRY_BUDGET_EXHAUSTED = "sluice_retry_budget_exhausted_total";
    public static final String CIRCUIT_BREAKER_OVERFLOWS = "sluice_circuit_breaker_overflows_total";
    public static final String PENDING_REQUESTS = "sluice_pending_requests";
    public static final String POOL_MODE_CHANGES = "sluice_pool_mode_changes_total";
    public static final String HEALTH_CHECKS = "sluice_health_checks_total";
    public static final String PROXY_ERRORS = "sluice_proxy_errors_total";
    public static final String CLIENT_CONNECTIONS = "sluice_client_connections";
    public static final String CLIENT_CONNECTIONS_ACCEPTED = "sluice_client_connections_accepted_total";
    public static final String CONFIG_RELOADS = "sluice_config_reloads_total";
    public static final String ACCESS_LOG_DROPPED = "sluice_access_log_dropped_total";
    public static final String HTTP2_PROTECTIONS = "sluice_http2_protections_total";
    public static final String TLS_HANDSHAKES = "sluice_tls_handshakes_total";
    public static final String TLS_CERTIFICATE_RELOADS = "sluice_tls_certificate_reloads_total";
    public static final String TCP_CONNECTIONS = "sluice_tcp_connections_total";
    public static final String INFERENCE_QUEUE_SIZE = "sluice_inference_queue_size";
    public static final String INFERENCE_QUEUE_WAIT = "sluice_inference_queue_wait_seconds";
    public static final String INFERENCE_SHED = "sluice_inference_shed_total";
    public static final String INFERENCE_TTFT = "sluice_inference_time_to_first_token_seconds";
    public static final String INFERENCE_TTFT_SLO = "sluice_inference_ttft_slo_total";
    public static final String INFERENCE_TOKENS = "sluice_inference_tokens_total";
    public static final String INFERENCE_PREFIX_HIT_RATIO = "sluice_inference_prefix_hit_ratio";
    public static final String INFERENCE_SCRAPE_ERRORS = "sluice_inference_scrape_errors_total";
    public static final String INFERENCE_METRICS_FRESH = "sluice_inference_endpoint_metrics_fresh";

    /** Latency buckets in seconds: 0.5 ms to 60 s. */
    private static final double[] DURATION_BUCKETS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1, 2.5, 5, 10, 30, 60};

    /** Time-to-first-token buckets in seconds: 5 ms to 60 s. */
    private static final double[] TTFT_BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60};

    private record RequestKey(String listener, String pool, String endpoint, int code) {
    }

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Counter requests;
    private final Histogram duration;
    private final Counter retries;
    private final Counter retryBudgetExhausted;
    private final Counter breakerOverflows;
    private final Counter proxyErrors;
    private final Counter accepted;
    private final Counter reloads;
    private final Counter accessLogDropped;
    private final Counter http2Protections;
    private final Counter tlsHandshakes;
    private final Counter certificateReloads;
    private final Counter tcpConnections;
    private final Histogram inferenceQueueWait;
    private final Histogram inferenceTtft;
    private final Counter inferenceTtftSlo;
    private final Counter inferenceTokens;
    private final Counter scrapeErrors;
    private final ConcurrentHashMap<RequestKey, CounterDataPoint> requestPoints = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, DistributionDataPoint> durationPoints = new ConcurrentHashMap<>();

    /** Creates the metrics in a registry of their own. */
    public ProxyMetrics() {
        requests = Counter.builder().name(REQUESTS)
                .help("Requests answered, by listener, pool, endpoint and status code")
                .labelNames("listener", "pool", "endpoint", "code").withoutExemplars().register(registry);
        duration = Histogram.builder().name(REQUEST_DURATION)
                .help("Time from the request head to the end of the response, by pool")
                .labelNames("pool").classicOnly().classicUpperBounds(DURATION_BUCKETS).withoutExemplars()
                .register(registry);
        retries = Counter.builder().name(RETRIES).help("Requests tried again on another endpoint, by pool")
                .labelNames("pool").withoutExemplars().register(registry);
        retryBudgetExhausted = Counter.builder().name(RETRY_BUDGET_EXHAUSTED)
                .help("Retries not made because the pool's retry budget was used up, by pool")
                .labelNames("pool").withoutExemplars().register(registry);
        breakerOverflows = Counter.builder().name(CIRCUIT_BREAKER_OVERFLOWS)
                .help("Requests answered 503 by a circuit breaker, by pool and resource (requests, connections: "
                        + "pending queue full, pending_timeout: waited too long for a connection)")
                .labelNames("pool", "resource").withoutExemplars().register(registry);
        proxyErrors = Counter.builder().name(PROXY_ERRORS)
                .help("Responses generated by Sluice itself, by listener and reason")
                .labelNames("listener", "reason").withoutExemplars().register(registry);
        accepted = Counter.builder().name(CLIENT_CONNECTIONS_ACCEPTED).help("Client connections accepted")
                .labelNames("listener").withoutExemplars().register(registry);
        reloads = Counter.builder().name(CONFIG_RELOADS).help("Configuration reloads, by result")
                .labelNames("result").withoutExemplars().register(registry);
        accessLogDropped = Counter.builder().name(ACCESS_LOG_DROPPED)
                .help("Access log lines dropped because the writer could not keep up").withoutExemplars()
                .register(registry);
        http2Protections = Counter.builder().name(HTTP2_PROTECTIONS)
                .help("HTTP/2 connections closed or refused by a protection, by listener and reason (rapid_reset,"
                        + " continuation_flood, header_list_too_large, empty_frames, protocol_error, ping_timeout,"
                        + " idle_timeout)")
                .labelNames("listener", "reason").withoutExemplars().register(registry);
        tlsHandshakes = Counter.builder().name(TLS_HANDSHAKES)
                .help("TLS handshakes with clients, by listener and result (ok, failed)")
                .labelNames("listener", "result").withoutExemplars().register(registry);
        certificateReloads = Counter.builder().name(TLS_CERTIFICATE_RELOADS)
                .help("Certificate reloads after their files changed, by listener and result (ok, failed)")
                .labelNames("listener", "result").withoutExemplars().register(registry);
        tcpConnections = Counter.builder().name(TCP_CONNECTIONS)
                .help("Connections forwarded by tcp listeners, by listener, pool and result (ok, failed)")
                .labelNames("listener", "pool", "result").withoutExemplars().register(registry);
        inferenceQueueWait = Histogram.builder().name(INFERENCE_QUEUE_WAIT)
                .help("Time requests waited in an inference pool's central queue (0 when sent at once), by pool")
                .labelNames("pool").classicOnly().classicUpperBounds(DURATION_BUCKETS).withoutExemplars()
                .register(registry);
        inferenceTtft = Histogram.builder().name(INFERENCE_TTFT)
                .help("Time from the request head to the first token (first SSE data event, or the end of a "
                        + "non-streamed response), by pool and model")
                .labelNames("pool", "model").classicOnly().classicUpperBounds(TTFT_BUCKETS).withoutExemplars()
                .register(registry);
        inferenceTtftSlo = Counter.builder().name(INFERENCE_TTFT_SLO)
                .help("Requests that carried a TTFT objective (the slo_ttft header), by pool, model and result (met, "
                        + "missed), counted at their first token")
                .labelNames("pool", "model", "result").withoutExemplars().register(registry);
        inferenceTokens = Counter.builder().name(INFERENCE_TOKENS)
                .help("Tokens of completed inference requests, by pool, model and kind (prompt, completion); from "
                        + "the response's usage, else the prompt estimate")
                .labelNames("pool", "model", "kind").withoutExemplars().register(registry);
        scrapeErrors = Counter.builder().name(INFERENCE_SCRAPE_ERRORS)
                .help("Engine metrics scrapes that failed or returned a page without the engine's metrics, by pool "
                        + "and endpoint")
                .labelNames("pool", "endpoint").withoutExemplars().register(registry);
    }

    /** The registry, for components that add metrics of their own. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** Counts one answered request. */
    public void request(String listener, String pool, String endpoint, int code) {
        requestPoints.computeIfAbsent(new RequestKey(listener, pool, endpoint, code),
                k -> requests.labelValues(k.listener(), k.pool(), k.endpoint(), Integer.toString(k.code()))).inc();
    }

    /** Records a request's duration. */
    public void duration(String pool, long nanos) {
        durationPoints.computeIfAbsent(pool, duration::labelValues).observe(nanos / 1e9);
    }

    /** Counts a retry. */
    public void retry(String pool) {
        retries.labelValues(pool).inc();
    }

    /** Counts a retry refused by the budget. */
    public void retryBudgetExhausted(String pool) {
        retryBudgetExhausted.labelValues(pool).inc();
    }

    /**
     * Counts a request refused by a circuit breaker.
     *
     * @param resource {@code requests}, {@code connections} or {@code pending_timeout}
     */
    public void breakerOverflow(String pool, String resource) {
        breakerOverflows.labelValues(pool, resource).inc();
    }

    /** Counts a response Sluice generated itself (bad request, no route, upstream failure...). */
    public void proxyError(String listener, String reason) {
        proxyErrors.labelValues(listener, reason).inc();
    }

    /** Counts an accepted client connection. */
    public void accepted(String listener) {
        accepted.labelValues(listener).inc();
    }

    /** Counts a reload attempt. */
    public void reload(boolean ok) {
        reloads.labelValues(ok ? "ok" : "rejected").inc();
    }

    /** Counts an HTTP/2 connection closed by a protection. */
    public void http2Protection(String listener, String reason) {
        http2Protections.labelValues(listener, reason).inc();
    }

    /** Counts a TLS handshake with a client. */
    public void tlsHandshake(String listener, boolean ok) {
        tlsHandshakes.labelValues(listener, ok ? "ok" : "failed").inc();
    }

    /** Counts a certificate reload. */
    public void certificateReload(String listener, boolean ok) {
        certificateReloads.labelValues(listener, ok ? "ok" : "failed").inc();
    }

    /** Counts a connection through a tcp listener. */
    public void tcpConnection(String listener, String pool, boolean ok) {
        tcpConnections.labelValues(listener, pool, ok ? "ok" : "failed").inc();
    }

    /**
     * The current value of a counter, for tests and the admin API (0 if never counted).
     *
     * @param name   the metric name, e.g. {@link #HTTP2_PROTECTIONS}
     * @param labels label names and values, alternating ({@code "listener", "web", "reason", "rapid_reset"})
     */
    public double counterValue(String name, String... labels) {
        String base = name.endsWith("_total") ? name.substring(0, name.length() - 6) : name;
        for (var snapshot : registry.scrape()) {
            if (!snapshot.getMetadata().getName().equals(base)
                    || !(snapshot instanceof io.prometheus.metrics.model.snapshots.CounterSnapshot counter)) {
                continue;
            }
            for (var point : counter.getDataPoints()) {
                boolean match = true;
                for (int i = 0; match && i + 1 < labels.length; i += 2) {
                    match = labels[i + 1].equals(point.getLabels().get(labels[i]));
                }
                if (match) {
                    return point.getValue();
                }
            }
        }
        return 0;
    }

    /** Records how long a request waited in an inference pool's queue. */
    public void inferenceQueueWait(String pool, long nanos) {
        inferenceQueueWait.labelValues(pool).observe(nanos / 1e9);
    }

    /** Records a time to first token. */
    public void inferenceTtft(String pool, String model, long nanos) {
        inferenceTtft.labelValues(pool, model).observe(nanos / 1e9);
    }

    /** Counts a request that carried a TTFT objective, at its first token: met or missed. */
    public void inferenceTtftSlo(String pool, String model, boolean met) {
        inferenceTtftSlo.labelValues(pool, model, met ? "met" : "missed").inc();
    }

    /** Counts the tokens of a completed inference request. */
    public void inferenceTokens(String pool, String model, long prompt, long completion) {
        inferenceTokens.labelValues(pool, model, "prompt").inc(prompt);
        inferenceTokens.labelValues(pool, model, "completion").inc(completion);
    }

    /** Counts a failed engine-metrics scrape. */
    public void scrapeError(String pool, String endpoint) {
        scrapeErrors.labelValues(pool, endpoint).inc();
    }

    /**
     * Registers the inference gauges read from the live pools at scrape time.
     *
     * @param queueSize reports (value, pool, priority): requests in the central queue
     * @param shed      reports (count, pool, reason): requests refused by the queue
     * @param prefixHit reports (ratio, pool): the prefix index's predicted hit ratio
     * @param fresh     reports (1 or 0, pool, endpoint): whether the endpoint's engine metrics are fresh
     */
    public void registerInference(Consumer<GaugeWithCallback.Callback> queueSize,
                                  Consumer<CounterWithCallback.Callback> shed,
                                  Consumer<GaugeWithCallback.Callback> prefixHit,
                                  Consumer<GaugeWithCallback.Callback> fresh) {
        GaugeWithCallback.builder().name(INFERENCE_QUEUE_SIZE)
                .help("Requests waiting in an inference pool's central queue, by pool and priority")
                .labelNames("pool", "priority").callback(queueSize).register(registry);
        CounterWithCallback.builder().name(INFERENCE_SHED)
                .help("Requests refused by an inference pool's queue, by pool and reason (sheddable, queue_full, "
                        + "displaced, timeout)")
                .labelNames("pool", "reason").callback(shed).register(registry);
        GaugeWithCallback.builder().name(INFERENCE_PREFIX_HIT_RATIO)
                .help("Share of routed prompt tokens the prefix index expected to be cached where they were sent")
                .labelNames("pool").callback(prefixHit).register(registry);
        GaugeWithCallback.builder().name(INFERENCE_METRICS_FRESH)
                .help("1 if the endpoint's last engine-metrics reading is fresh (younger than stale_after), else 0")
                .labelNames("pool", "endpoint").callback(fresh).register(registry);
    }

    /** Counts a dropped access-log line. */
    public void accessLogDropped() {
        accessLogDropped.inc();
    }

    /**
     * Registers the gauges read at scrape time.
     *
     * @param activeRequests reports (value, pool, endpoint) for each endpoint
     * @param connections    reports (value, pool, endpoint) for each endpoint
     * @param up             reports (1 or 0, pool, endpoint) for each endpoint
     * @param clients        reports (value, listener) for each listener
     */
    public void registerGauges(Consumer<GaugeWithCallback.Callback> activeRequests,
                               Consumer<GaugeWithCallback.Callback> connections,
                               Consumer<GaugeWithCallback.Callback> up,
                               Consumer<GaugeWithCallback.Callback> clients) {
        GaugeWithCallback.builder().name(UPSTREAM_ACTIVE_REQUESTS).help("Requests in flight to an endpoint")
                .labelNames("pool", "endpoint").callback(activeRequests).register(registry);
        GaugeWithCallback.builder().name(UPSTREAM_CONNECTIONS).help("Open connections to an endpoint")
                .labelNames("pool", "endpoint").callback(connections).register(registry);
        GaugeWithCallback.builder().name(ENDPOINT_UP)
                .help("1 if the endpoint takes traffic (healthy, not ejected, not draining), else 0")
                .labelNames("pool", "endpoint").callback(up).register(registry);
        GaugeWithCallback.builder().name(CLIENT_CONNECTIONS).help("Open client connections")
                .labelNames("listener").callback(clients).register(registry);
    }

    /**
     * Registers the resilience metrics read from the live health and resilience objects at scrape time, so that an
     * endpoint that leaves its pool leaves the exposition too.
     *
     * @param ejections   reports (count, pool, endpoint): outlier ejections of each endpoint
     * @param refused     reports (count, pool): ejections refused by {@code max_ejection_percent}
     * @param modeChanges reports (count, pool, mode): entries into each pool mode
     * @param checks      reports (count, pool, endpoint, result): health check results (pass, fail, timeout)
     * @param pending     reports (value, pool): requests waiting for a connection now
     */
    public void registerResilience(Consumer<CounterWithCallback.Callback> ejections,
                                   Consumer<CounterWithCallback.Callback> refused,
                                   Consumer<CounterWithCallback.Callback> modeChanges,
                                   Consumer<CounterWithCallback.Callback> checks,
                                   Consumer<GaugeWithCallback.Callback> pending) {
        CounterWithCallback.builder().name(EJECTIONS).help("Outlier ejections of an endpoint")
                .labelNames("pool", "endpoint").callback(ejections).register(registry);
        CounterWithCallback.builder().name(EJECTION_OVERFLOWS)
                .help("Ejections not made because max_ejection_percent of the pool was already ejected")
                .labelNames("pool").callback(refused).register(registry);
        CounterWithCallback.builder().name(POOL_MODE_CHANGES)
                .help("Times a pool entered a mode: normal, backup, panic, empty")
                .labelNames("pool", "mode").callback(modeChanges).register(registry);
        CounterWithCallback.builder().name(HEALTH_CHECKS)
                .help("Active health check results of an endpoint: pass, fail, timeout")
                .labelNames("pool", "endpoint", "result").callback(checks).register(registry);
        GaugeWithCallback.builder().name(PENDING_REQUESTS).help("Requests waiting for an upstream connection")
                .labelNames("pool").callback(pending).register(registry);
    }

    /** Writes every metric in the Prometheus text format. */
    public void write(OutputStream out) throws IOException {
        PrometheusTextFormatWriter.create().write(out, registry.scrape());
    }

    /** The content type of {@link #write}. */
    public static String contentType() {
        return PrometheusTextFormatWriter.CONTENT_TYPE;
    }
}
