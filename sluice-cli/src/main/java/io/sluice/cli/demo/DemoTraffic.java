package io.sluice.cli.demo;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Gentle background traffic for the demo: chat completions sharing a few long system prompts (so prefix reuse shows
 * up in the simulated servers' metrics), half of them streamed, and plain GETs to the web pool. For streamed
 * requests it measures the time to the first token (the first SSE {@code data:} line) as a client sees it.
 */
final class DemoTraffic implements AutoCloseable {

    private static final List<String> SYSTEM_PROMPTS = List.of(
            "You are a support agent for a cloud storage company. " + "Answer briefly and cite the policy. ".repeat(60),
            "You are a coding assistant. Prefer idiomatic Java 17 and explain trade-offs. ".repeat(60),
            "You translate English into French, keeping technical terms in English. ".repeat(60));
    private static final List<String> QUESTIONS = List.of("How do I restore a deleted file?",
            "What is the retention period?", "Write a function that reverses a list.", "Translate: load balancer",
            "Explain backpressure.", "What does HTTP 429 mean?", "Summarise our refund policy.");
    private static final int MAX_IN_FLIGHT = 64;

    private final String base;
    private final String model;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sluice-demo-traffic");
        t.setDaemon(true);
        return t;
    });
    private final Recorder ttft = new Recorder(3);
    private final LongAdder sent = new LongAdder();
    private final LongAdder ok = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ConcurrentHashMap<Integer, LongAdder> statuses = new ConcurrentHashMap<>();

    DemoTraffic(String base, String model, double requestsPerSecond) {
        this.base = base;
        this.model = model;
        long periodMicros = (long) (1_000_000 / Math.max(0.1, requestsPerSecond));
        timer.scheduleAtFixedRate(this::fire, 500_000, periodMicros, TimeUnit.MICROSECONDS);
    }

    private void fire() {
        if (inFlight.get() >= MAX_IN_FLIGHT) {
            return;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        inFlight.incrementAndGet();
        sent.increment();
        long start = System.nanoTime();
        if (r.nextInt(10) < 3) {
            HttpRequest get = HttpRequest.newBuilder(URI.create(base + "/")).timeout(Duration.ofSeconds(30)).build();
            http.sendAsync(get, HttpResponse.BodyHandlers.discarding()).whenComplete((resp, err) ->
                    done(resp == null ? 0 : resp.statusCode(), err));
            return;
        }
        boolean stream = r.nextBoolean();
        String body = """
                {"model":"%s","stream":%s,"max_tokens":%d,"messages":[{"role":"system","content":"%s"},\
                {"role":"user","content":"%s"}]}""".formatted(model, stream, 16 + r.nextInt(96),
                SYSTEM_PROMPTS.get(r.nextInt(SYSTEM_PROMPTS.size())), QUESTIONS.get(r.nextInt(QUESTIONS.size())));
        HttpRequest post = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .header("content-type", "application/json").header("x-session-id", "demo-" + r.nextInt(20))
                .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        http.sendAsync(post, HttpResponse.BodyHandlers.ofLines()).whenComplete((resp, err) -> {
            if (err != null || resp == null) {
                done(0, err);
                return;
            }
            try {
                boolean[] first = {true};
                resp.body().forEach(line -> {
                    if (stream && first[0] && line.startsWith("data:")) {
                        first[0] = false;
                        ttft.recordValue(Math.max(1, (System.nanoTime() - start) / 1000));
                    }
                });
                done(resp.statusCode(), null);
            } catch (RuntimeException e) {
                done(0, e);
            }
        });
    }

    private void done(int status, Throwable err) {
        inFlight.decrementAndGet();
        statuses.computeIfAbsent(status, s -> new LongAdder()).increment();
        if (err == null && status >= 200 && status < 400) {
            ok.increment();
        } else {
            failed.increment();
        }
    }

    /** Requests sent so far. */
    long sent() {
        return sent.sum();
    }

    /** Requests answered with 2xx/3xx. */
    long ok() {
        return ok.sum();
    }

    /** Requests that failed (an error status or no answer). */
    long failed() {
        return failed.sum();
    }

    /** Time-to-first-token percentiles (ms) since the last call: p50, p99, count. */
    double[] ttftSinceLast() {
        Histogram h = ttft.getIntervalHistogram();
        return new double[] {h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
            h.getTotalCount()};
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
