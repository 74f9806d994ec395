package io.sluice.proxy.testing;

import io.sluice.config.ConfigException;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.server.SluiceServer;
import io.sluice.time.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A Sluice started in-process from YAML text, for integration tests. Ports 0 are chosen by the OS. */
public final class RunningSluice implements AutoCloseable {

    private final SluiceServer server;
    private final Path file;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private RunningSluice(SluiceServer server, Path file) {
        this.server = server;
        this.file = file;
    }

    /** Starts Sluice with the YAML, written to a temporary file so that reloads can re-read it. */
    public static RunningSluice start(String yaml) {
        try {
            Path file = Files.createTempFile("sluice-it-", ".yaml");
            Files.writeString(file, yaml);
            return new RunningSluice(SluiceServer.start(SluiceConfig.load(file), Clock.system()), file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** The server. */
    public SluiceServer server() {
        return server;
    }

    /** The config file. */
    public Path file() {
        return file;
    }

    /** The port of a listener. */
    public int port(String listener) {
        return server.port(listener);
    }

    /** A base URI for a listener, e.g. {@code http://127.0.0.1:1234}. */
    public String url(String listener) {
        return "http://127.0.0.1:" + port(listener);
    }

    /** Sends a GET to a listener and returns the response. */
    public HttpResponse<String> get(String listener, String path) {
        return send(HttpRequest.newBuilder(URI.create(url(listener) + path)).timeout(Duration.ofSeconds(20)).build());
    }

    /** Sends a request with the test's HTTP client. */
    public HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Sends a request to the admin API. */
    public HttpResponse<String> admin(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.adminPort() + path))
                .timeout(Duration.ofSeconds(20));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(body));
        return send(b.build());
    }

    /** Replaces the config file's text (the running config changes only on a reload). */
    public void writeConfig(String yaml) {
        try {
            Files.writeString(file, yaml);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asks the admin API to re-read the config file; returns the response. */
    public HttpResponse<String> reload() {
        return admin("POST", "/api/v1/reload", null);
    }

    /** Waits (at most 10 s) until {@code /readyz} answers 200. */
    public void awaitReady() {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> admin("GET", "/readyz", null).statusCode() == 200);
    }

    /**
     * The sum of a metric's samples whose label set contains every given {@code name="value"} fragment, read from
     * {@code /metrics}; 0 if there is none.
     */
    public double metric(String name, String... labels) {
        double sum = 0;
        for (String line : admin("GET", "/metrics", null).body().lines().toList()) {
            if (line.startsWith("#") || !(line.startsWith(name + "{") || line.startsWith(name + " "))) {
                continue;
            }
            boolean all = true;
            for (String l : labels) {
                all &= line.contains(l);
            }
            if (all) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    /** The shared HTTP client (HTTP/1.1 is forced per request where it matters). */
    public HttpClient http() {
        return http;
    }

    @Override
    public void close() {
        server.close();
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            // A temporary file left behind is harmless.
        }
    }
}
