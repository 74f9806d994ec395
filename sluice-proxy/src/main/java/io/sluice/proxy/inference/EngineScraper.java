package io.sluice.proxy.inference;

import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import io.sluice.inference.ServerMetrics;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.time.Clock;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Scrapes the engine metrics of every endpoint of every pool with an inference policy, off the event loops, and
 * publishes each reading into the pool's {@link io.sluice.inference.FleetState}.
 *
 * <p>One timer thread ticks every {@value #TICK_MILLIS} ms and, following the {@linkplain #apply current runtime},
 * sends a {@code GET metrics.path} to each endpoint whose {@code metrics.interval} has passed and whose previous
 * scrape has returned (a slow endpoint is never scraped twice at once). Requests go through the JDK
 * {@link HttpClient} (HTTP/1.1, asynchronous, on a small executor of its own), with {@code stale_after} as their
 * timeout. A reading is stamped with the time the scrape was <em>sent</em>, so dispatches made after it stay counted
 * by the router. A failed scrape, a non-200 answer or a page without the engine's metrics publishes nothing (the
 * reading goes stale and is no longer trusted) and counts in {@code sluice_inference_scrape_errors_total}.
 *
 * <p>Because each tick reads the pools' members afresh, endpoints added or removed by a reload or the admin API are
 * scraped or dropped from the next tick on. After every reading the pool's central queue may release as many
 * requests as the endpoint's engine queue is below {@code saturation.queue}; at every tick it refuses requests that
 * waited too long.
 *
 * <p>A pool that configures no model names has each endpoint's models discovered from {@code GET /v1/models} every
 * {@value #DISCOVERY_SECONDS} s (1 s after a failed attempt).
 */
public final class EngineScraper implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EngineScraper.class);
    private static final long TICK_MILLIS = 10;
    private static final long DISCOVERY_SECONDS = 10;
    /** A discovery unanswered this long (twice its time-out) no longer stops the next one. */
    private static final long DISCOVERY_STUCK_NANOS = TimeUnit.SECONDS.toNanos(4);
    private static final JsonMapper JSON = JsonMapper.builder().build();

    private record Key(String pool, Address address) {
    }

    private static final class Target {
        volatile boolean scraping;
        volatile boolean discovering;
        /** When the scrape or discovery in flight started: one that never completes must not stop the next. */
        volatile long scrapeStartedNanos;
        volatile long discoveryStartedNanos;
        long nextScrapeNanos;
        /** Written by the timer thread when a discovery starts, and by its callback when it fails. */
        volatile long nextDiscoveryNanos;
        /**
         * The scrape and discovery in flight. A request's time-out covers its response head only; one whose body
         * never ends is cancelled (the exchange aborted, its buffered body dropped) when the next one is sent.
         */
        volatile CompletableFuture<?> scrapeInFlight;
        volatile CompletableFuture<?> discoveryInFlight;

        Target(long now) {
            nextScrapeNanos = now;
            nextDiscoveryNanos = now;
        }
    }

    private final Clock clock;
    private final ProxyMetrics metrics;
    private final ScheduledExecutorService timer;
    private final ExecutorService workers;
    private final HttpClient http;
    /** Confined to the timer thread. */
    private final Map<Key, Target> targets = new HashMap<>();
    private volatile ProxyRuntime runtime;

    private EngineScraper(Clock clock, ProxyMetrics metrics) {
        this.clock = clock;
        this.metrics = metrics;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "sluice-scrape"));
        this.workers = Executors.newFixedThreadPool(2, r -> daemon(r, "sluice-scrape-io"));
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(workers)
                .connectTimeout(Duration.ofSeconds(1)).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Starts scraping; nothing is scraped until a runtime is {@linkplain #apply applied}. */
    public static EngineScraper start(Clock clock, ProxyMetrics metrics) {
        EngineScraper s = new EngineScraper(clock, metrics);
        s.timer.scheduleWithFixedDelay(s::tick, TICK_MILLIS, TICK_MILLIS, TimeUnit.MILLISECONDS);
        return s;
    }

    /** Follows a runtime now in force (at start and after each reload). */
    public void apply(ProxyRuntime next) {
        runtime = next;
    }

    private void tick() {
        try {
            ProxyRuntime r = runtime;
            if (r == null) {
                return;
            }
            long now = clock.nanoTime();
            Set<Key> seen = new HashSet<>();
            for (PoolRuntime p : r.pools()) {
                Optional<InferencePool> ip = p.inference();
                if (ip.isEmpty()) {
                    continue;
                }
                InferencePool pool = ip.get();
                long interval = pool.config().metrics().interval().toNanos();
                Set<Address> present = new HashSet<>();
                for (Member m : p.pool().members()) {
                    present.add(m.address());
                    Key k = new Key(p.name(), m.address());
                    seen.add(k);
                    Target t = targets.computeIfAbsent(k, x -> new Target(now));
                    boolean scrapeFree = !t.scraping || now - t.scrapeStartedNanos > stuckNanos(pool);
                    if (scrapeFree && now - t.nextScrapeNanos >= 0) {
                        t.nextScrapeNanos = now + interval;
                        scrape(t, p, pool, m.address());
                    }
                    boolean discoveryFree = !t.discovering || now - t.discoveryStartedNanos > DISCOVERY_STUCK_NANOS;
                    if (pool.discoversModels() && discoveryFree && now - t.nextDiscoveryNanos >= 0) {
                        t.nextDiscoveryNanos = now + TimeUnit.SECONDS.toNanos(DISCOVERY_SECONDS);
                        discover(t, p, pool, m.address());
                    }
                }
                if (pool.discoversModels()) {
                    pool.retainDiscovered(present);
                }
                pool.expireQueued();
            }
            targets.keySet().retainAll(seen);
        } catch (RuntimeException e) {
            LOG.warn("engine metrics scrape tick failed", e);
        }
    }

    private void scrape(Target t, PoolRuntime p, InferencePool pool, Address address) {
        Optional<HttpRequest> req = request(p, address, pool.config().metrics().path(),
                pool.config().metrics().staleAfter());
        if (req.isEmpty()) {
            metrics.scrapeError(pool.name(), address.toString());
            return;
        }
        cancel(t.scrapeInFlight);
        t.scraping = true;
        long sentAt = clock.nanoTime();
        t.scrapeStartedNanos = sentAt;
        CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(req.get(),
                HttpResponse.BodyHandlers.ofByteArray());
        t.scrapeInFlight = sent;
        sent.whenComplete((resp, err) -> {
            t.scraping = false;
            ServerMetrics reading = null;
            if (err == null && resp.statusCode() == 200) {
                byte[] page = resp.body();
                reading = pool.parser().tryParse(page, 0, page.length, sentAt);
            }
            if (reading == null) {
                metrics.scrapeError(pool.name(), address.toString());
                return;
            }
            pool.fleet().publish(address, reading);
            pool.dispatchQueued(pool.fleet().releasedByReading(address));
        });
    }

    private void discover(Target t, PoolRuntime p, InferencePool pool, Address address) {
        Optional<HttpRequest> req = request(p, address, "/v1/models", Duration.ofSeconds(2));
        if (req.isEmpty()) {
            return;
        }
        cancel(t.discoveryInFlight);
        t.discovering = true;
        t.discoveryStartedNanos = clock.nanoTime();
        CompletableFuture<HttpResponse<byte[]>> sent = http.sendAsync(req.get(),
                HttpResponse.BodyHandlers.ofByteArray());
        t.discoveryInFlight = sent;
        sent.whenComplete((resp, err) -> {
            if (err != null || resp.statusCode() != 200) {
                // Not answered (yet): ask again soon rather than at the next regular discovery.
                t.nextDiscoveryNanos = clock.nanoTime() + TimeUnit.SECONDS.toNanos(1);
                t.discovering = false;
                return;
            }
            t.discovering = false;
            try {
                JsonNode data = JSON.readTree(resp.body()).path("data");
                Set<String> names = new LinkedHashSet<>();
                for (JsonNode model : data) {
                    if (model.path("id").isString()) {
                        names.add(model.path("id").asString());
                    }
                }
                if (!names.isEmpty()) {
                    pool.discovered(address, names);
                }
            } catch (RuntimeException e) {
                LOG.debug("endpoint {} of pool {} sent an unreadable /v1/models", address, pool.name(), e);
            }
        });
    }

    /** Aborts a request still in flight (stuck past its limit, or superseded); nothing if done. */
    private static void cancel(CompletableFuture<?> inFlight) {
        if (inFlight != null && !inFlight.isDone()) {
            inFlight.cancel(true);
        }
    }

    /**
     * How long a scrape may stay unanswered before the next one is sent anyway: its request time-out covers the
     * response head only, so a body that never ends would otherwise stop the endpoint's scrapes for good.
     */
    private static long stuckNanos(InferencePool pool) {
        return Math.max(pool.config().metrics().staleAfter().toNanos(), TimeUnit.SECONDS.toNanos(1)) * 2;
    }

    private static Optional<HttpRequest> request(PoolRuntime p, Address address, String path, Duration timeout) {
        try {
            URI uri = new URI(p.tls().isPresent() ? "https" : "http", null, address.host(), address.port(), path,
                    null, null);
            return Optional.of(HttpRequest.newBuilder(uri).timeout(timeout).GET().build());
        } catch (URISyntaxException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Stops scraping. */
    @Override
    public void close() {
        timer.shutdownNow();
        workers.shutdownNow();
    }
}
