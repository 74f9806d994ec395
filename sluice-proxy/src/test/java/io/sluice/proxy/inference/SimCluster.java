package io.sluice.proxy.inference;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.function.IntFunction;

/** Test helpers: read a simulator's counters, send OpenAI requests at a bounded concurrency. */
final class SimCluster {

    static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private SimCluster() {
    }

    /** The sum of a metric's samples on a server's {@code /metrics} (0 if absent). */
    static double metric(int port, String name) {
        double sum = 0;
        for (String line : get("http://127.0.0.1:" + port + "/metrics").body().lines().toList()) {
            if (!line.startsWith("#") && (line.startsWith(name + "{") || line.startsWith(name + " "))) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** The sum of a metric over several servers. */
    static double metric(List<Integer> ports, String name) {
        double sum = 0;
        for (int p : ports) {
            sum += metric(p, name);
        }
        return sum;
    }

    static HttpResponse<String> get(String url) {
        return send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).build());
    }

    static HttpResponse<String> send(HttpRequest r) {
        try {
            return HTTP.send(r, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A JSON POST to a URL, with extra headers as name/value pairs. */
    static HttpRequest post(String url, String json, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return b.build();
    }

    /** Sends {@code count} requests, at most {@code concurrency} at a time; returns the responses in order. */
    static List<HttpResponse<String>> run(int count, int concurrency, IntFunction<HttpRequest> request) {
        Semaphore slots = new Semaphore(concurrency);
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            slots.acquireUninterruptibly();
            all.add(HTTP.sendAsync(request.apply(i), HttpResponse.BodyHandlers.ofString())
                    .whenComplete((r, e) -> slots.release()));
        }
        List<HttpResponse<String>> out = new ArrayList<>();
        for (CompletableFuture<HttpResponse<String>> f : all) {
            out.add(f.join());
        }
        return out;
    }

    /** A chat request body. */
    static String chat(String model, String system, String user, int maxTokens, boolean stream) {
        return "{\"model\":\"" + model + "\",\"max_tokens\":" + maxTokens + ",\"stream\":" + stream
                + ",\"messages\":[{\"role\":\"system\",\"content\":\"" + system + "\"},"
                + "{\"role\":\"user\",\"content\":\"" + user + "\"}]}";
    }

    /** A long deterministic text (about {@code bytes} bytes) that differs from the start for each seed. */
    static String text(int seed, int bytes) {
        java.util.Random r = new java.util.Random(seed);
        StringBuilder b = new StringBuilder(bytes + 16);
        b.append("Prompt ").append(seed).append(": ");
        while (b.length() < bytes) {
            b.append("word").append(r.nextInt(10_000)).append(' ');
        }
        return b.toString();
    }
}
