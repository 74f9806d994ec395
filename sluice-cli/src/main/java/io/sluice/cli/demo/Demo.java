package io.sluice.cli.demo;

import io.netty.channel.EventLoopGroup;
import io.sluice.config.ConfigException;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Member;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.server.SluiceServer;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.server.SimOptions;
import io.sluice.sim.server.SimServer;
import io.sluice.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The demo's pieces: a simulated fleet ({@code sluice sim}'s engine), two web servers, Sluice in front of them, and
 * background traffic. Everything listens on 127.0.0.1.
 */
public final class Demo implements AutoCloseable {

    /** The model name the simulated servers serve. */
    public static final String MODEL = "llama-3-8b";

    /**
     * What to start.
     *
     * @param port      the public listener's port (0 or busy: any)
     * @param adminPort the admin port (0 or busy: any)
     * @param replicas  simulated model servers
     * @param profile   their GPU/model profile
     * @param rate      background requests per second
     */
    public record Options(int port, int adminPort, int replicas, String profile, double rate) {
    }

    private final SimServer sim;
    private final EventLoopGroup webGroup;
    private final WebBackend blue;
    private final WebBackend green;
    private final SluiceServer sluice;
    private final Path configFile;
    private final String configText;
    private final DemoTraffic traffic;
    private long lastSent;
    private long lastNanos = System.nanoTime();

    private Demo(SimServer sim, EventLoopGroup webGroup, WebBackend blue, WebBackend green, SluiceServer sluice,
                 Path configFile, String configText, double rate) {
        this.sim = sim;
        this.webGroup = webGroup;
        this.blue = blue;
        this.green = green;
        this.sluice = sluice;
        this.configFile = configFile;
        this.configText = configText;
        this.traffic = rate > 0 ? new DemoTraffic("http://127.0.0.1:" + sluice.port("public"), MODEL, rate) : null;
    }

    /**
     * Starts everything.
     *
     * @throws IllegalArgumentException for an unknown profile
     */
    public static Demo start(Options options) {
        Profile profile = Profile.of(options.profile());
        SimServer sim = SimServer.start(SimOptions.of(profile).withReplicas(options.replicas()).withModel(MODEL));
        EventLoopGroup webGroup = WebBackend.newGroup();
        WebBackend blue = new WebBackend(webGroup, "web-blue");
        WebBackend green = new WebBackend(webGroup, "web-green");
        String endpoints = sim.addresses().stream().map(a -> "      - { address: 127.0.0.1:" + a.getPort() + " }")
                .collect(Collectors.joining("\n"));
        String config = """
                # Written by `sluice demo`. Serve it yourself with `sluice run -c <this file>`.
                access_log: { path: off }
                admin: { address: 127.0.0.1:%d }
                listeners:
                  - name: public
                    address: 127.0.0.1:%d
                    routes:
                      - match: { path_prefix: /v1/ }
                        pool: llm
                      - match: { path_prefix: / }
                        split: [ { pool: web-blue, weight: 90 }, { pool: web-green, weight: 10 } ]
                pools:
                  - name: llm
                    policy: inference              # prefix-cache affinity with a load guard, central queue
                    inference:
                      engine: vllm
                      metrics: { path: /metrics, interval: 100ms, stale_after: 500ms }
                      models: [ %s ]
                      aliases: { llama3: %s }
                      saturation: { queue: 5, kv_cache: 0.8 }
                      flow_control: { max_queue: 500, queue_timeout: 30s }
                    timeouts: { connect: 1s, response_header: 60s, idle: 120s }
                    endpoints:
                %s
                  - name: web-blue
                    policy: round-robin
                    endpoints: [ { address: %s } ]
                  - name: web-green
                    policy: round-robin
                    endpoints: [ { address: %s } ]
                """.formatted(portOrFree(options.adminPort()), portOrFree(options.port()), MODEL, MODEL, endpoints,
                blue.address(), green.address());
        try {
            Path file = Files.createTempFile("sluice-demo-", ".yaml");
            Files.writeString(file, config);
            SluiceServer sluice = SluiceServer.start(SluiceConfig.load(file), Clock.system());
            return new Demo(sim, webGroup, blue, green, sluice, file, config, options.rate());
        } catch (IOException e) {
            sim.close();
            throw new UncheckedIOException(e);
        } catch (ConfigException e) {
            sim.close();
            throw new IllegalStateException("the demo's own config was refused: " + e.getMessage(), e);
        }
    }

    private static int portOrFree(int wanted) {
        if (wanted == 0) {
            return 0;
        }
        try (ServerSocket probe = new ServerSocket()) {
            probe.setReuseAddress(true);
            probe.bind(new InetSocketAddress("127.0.0.1", wanted));
            return wanted;
        } catch (IOException busy) {
            return 0;
        }
    }

    /** The public listener's port. */
    public int port() {
        return sluice.port("public");
    }

    /** The admin port. */
    public int adminPort() {
        return sluice.adminPort();
    }

    /** Prints where everything is and what to try. */
    public void printBanner(PrintWriter out) {
        String base = "http://127.0.0.1:" + port();
        out.println("Sluice demo is running.");
        out.println();
        out.println("  proxy      " + base);
        out.println("  dashboard  http://127.0.0.1:" + adminPort() + "/");
        out.println("  metrics    http://127.0.0.1:" + adminPort() + "/metrics");
        out.println("  model servers (simulated " + sim.replicas() + "x): " + sim.ports());
        out.println("  config     " + configFile);
        out.println();
        out.println(configText.indent(4));
        out.println("Try:");
        out.println("  curl -s " + base + "/v1/chat/completions -H 'content-type: application/json' \\");
        out.println("    -d '{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}],"
                + "\"stream\":true}'");
        out.println("  curl -s " + base + "/v1/models");
        out.println("  curl -s " + base + "/");
        out.println("OpenAI client (Python):  OpenAI(base_url=\"" + base + "/v1\", api_key=\"none\")");
        out.println("OpenAI client (Node):    new OpenAI({ baseURL: \"" + base + "/v1\", apiKey: \"none\" })");
        out.println();
        out.flush();
    }

    /** Prints one summary line: traffic, time to first token, and load per model server. */
    public void printSummary(PrintWriter out) {
        long now = System.nanoTime();
        StringBuilder line = new StringBuilder();
        if (traffic != null) {
            long sent = traffic.sent();
            double seconds = Math.max(1e-3, (now - lastNanos) / 1e9);
            double[] ttft = traffic.ttftSinceLast();
            line.append(String.format(Locale.ROOT, "%5.1f req/s  ok %d  failed %d  TTFT p50 %.0f ms p99 %.0f ms  |",
                    (sent - lastSent) / seconds, traffic.ok(), traffic.failed(), ttft[0], ttft[1]));
            lastSent = sent;
        }
        lastNanos = now;
        PoolRuntime llm = sluice.runtime().pool("llm").orElseThrow();
        for (Member m : llm.pool().members()) {
            line.append(String.format(Locale.ROOT, "  :%d %d active/%d total", m.address().port(),
                    m.load().activeRequests(), m.load().totalRequests()));
        }
        out.println(line);
        out.flush();
    }

    /** Requests the background traffic got answered (for tests). */
    public long succeeded() {
        return traffic == null ? 0 : traffic.ok();
    }

    /** Requests the background traffic saw fail (for tests). */
    public long failed() {
        return traffic == null ? 0 : traffic.failed();
    }

    @Override
    public void close() {
        if (traffic != null) {
            traffic.close();
        }
        sluice.shutdown(java.time.Duration.ofSeconds(2));
        sim.close();
        blue.close();
        green.close();
        WebBackend.shutdown(webGroup);
        try {
            Files.deleteIfExists(configFile);
        } catch (IOException e) {
            // A temporary file left behind is harmless.
        }
    }
}
