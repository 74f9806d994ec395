package io.sluice.proxy.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.sluice.proxy.testing.DeadPort;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Which requests are retried, and that a retried request is sent whole: POSTs that reached a backend are never
 * retried, POSTs that never left are; bodies are replayed up to {@code max_body_buffer}; a retried 503 is dropped
 * without losing its connection. Runs with Netty's leak detector at PARANOID and fails on any reported leak.
 */
class RetryRulesIT {

    private static final ListAppender<ILoggingEvent> LEAKS = new ListAppender<>();
    private static ResourceLeakDetector.Level previousLevel;
    private static TestBackend resetter;
    private static TestBackend busy;
    private static TestBackend good;
    private static DeadPort deadPort;
    private static RunningSluice sluice;

    @BeforeAll
    static void start() throws IOException {
        previousLevel = ResourceLeakDetector.getLevel();
        ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
        LEAKS.start();
        ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).addAppender(LEAKS);
        // Reads the whole request, then closes the connection without answering.
        resetter = TestBackend.start("resetter", (ctx, r) -> ctx.close());
        busy = TestBackend.start("busy", (ctx, r) -> TestBackend.respond(ctx, 503, "busy, try elsewhere"));
        good = TestBackend.start("good");
        deadPort = DeadPort.reserve();
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /reset/ }, pool: reset }
                      - { match: { path_prefix: /dead/ }, pool: dead }
                      - { match: { path_prefix: /small/ }, pool: small }
                      - { match: { path_prefix: /busy/ }, pool: busy }
                      - { match: { path_prefix: /nobudget/ }, pool: nobudget }
                pools:
                  - name: reset
                    endpoints: [ { address: %1$s }, { address: %2$s } ]
                    retries: { attempts: 2, backoff_base: 1ms, backoff_max: 2ms }
                  - name: dead
                    endpoints: [ { address: 127.0.0.1:%3$d }, { address: %2$s } ]
                    retries: { attempts: 2, backoff_base: 1ms, backoff_max: 2ms }
                  - name: small
                    endpoints: [ { address: %1$s }, { address: %2$s } ]
                    retries: { attempts: 2, max_body_buffer: 1KiB }
                  - name: busy
                    endpoints: [ { address: %4$s }, { address: %2$s } ]
                  - name: nobudget
                    endpoints: [ { address: %1$s }, { address: %2$s } ]
                    retries: { attempts: 3, budget_percent: 0, min_concurrent: 0 }
                """.formatted(resetter.address(), good.address(), deadPort.port(), busy.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        resetter.close();
        busy.close();
        good.close();
        deadPort.close();
        // Leaks are reported when a leaked buffer has been collected and another one is tracked.
        for (int i = 0; i < 5; i++) {
            System.gc();
            List<ByteBuf> probe = new ArrayList<>();
            for (int j = 0; j < 100; j++) {
                probe.add(PooledByteBufAllocator.DEFAULT.buffer(64));
            }
            probe.forEach(ByteBuf::release);
        }
        ResourceLeakDetector.setLevel(previousLevel);
        ((Logger) LoggerFactory.getLogger(ResourceLeakDetector.class)).detachAppender(LEAKS);
        assertThat(LEAKS.list).as("Netty leak reports").noneMatch(e -> e.getFormattedMessage().contains("LEAK"));
    }

    private static HttpResponse<String> send(String method, String path, String body) {
        return sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + path))
                .timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build());
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static long seen(TestBackend backend, String method, String prefix) {
        return backend.seen().stream().filter(r -> r.method().equals(method) && r.uri().startsWith(prefix)).count();
    }

    @Test
    void postThatReachedABackendIsNeverRetried() {
        int ok = 0;
        int failed = 0;
        for (int i = 0; i < 10; i++) {
            int status = send("POST", "/reset/order", "{\"n\":" + i + "}").statusCode();
            ok += status == 200 ? 1 : 0;
            failed += status == 502 ? 1 : 0;
        }
        assertThat(ok + failed).isEqualTo(10);
        assertThat(failed).as("the resetter got some POSTs").isPositive();
        assertThat(seen(resetter, "POST", "/reset/")).as("each 502 is a POST the resetter read, sent once")
                .isEqualTo(failed);
        assertThat(seen(good, "POST", "/reset/")).as("no POST that reached the resetter went on").isEqualTo(ok);

        // The same failure on a GET is retried.
        for (int i = 0; i < 10; i++) {
            assertThat(send("GET", "/reset/item", "").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void postThatNeverLeftIsRetriedOnAnotherEndpoint() {
        double retriesBefore = sluice.metric("sluice_retries_total", "pool=\"dead\"");
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = send("POST", "/dead/order", "order " + i);
            assertThat(r.statusCode()).isEqualTo(200);
        }
        assertThat(seen(good, "POST", "/dead/")).as("each POST arrived exactly once").isEqualTo(10);
        assertThat(sluice.metric("sluice_retries_total", "pool=\"dead\"") - retriesBefore)
                .as("connect failures retried").isPositive();
    }

    @Test
    void retriedBodiesArriveWholeAtTheNextEndpoint() throws IOException {
        byte[] body = new byte[10_000];
        new SplittableRandom(3).nextBytes(body);
        String sha = sha256(body);
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/reset/blob"))
                    .timeout(Duration.ofSeconds(10)).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
            assertThat(r.statusCode()).isEqualTo(200);
        }
        assertThat(seen(resetter, "PUT", "/reset/")).as("some PUTs met the resetter first").isPositive();
        assertThat(good.seen().stream().filter(r -> r.uri().equals("/reset/blob")).toList()).hasSize(6)
                .allSatisfy(r -> assertThat(r.bodySha256()).isEqualTo(sha));

        // A chunked body with trailers, replayed the same way.
        String chunked = "PUT /reset/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5\r\nhello\r\n6\r\n world\r\n0\r\nx-check: 1\r\n\r\n";
        for (int i = 0; i < 4; i++) {
            try (RawHttp raw = RawHttp.connect(sluice.port("web"))) {
                assertThat(raw.send(chunked).readResponse()).startsWith("HTTP/1.1 200");
            }
        }
        assertThat(good.seen().stream().filter(r -> r.uri().equals("/reset/chunked")).toList()).hasSize(4)
                .allSatisfy(r -> assertThat(r.bodySha256())
                        .isEqualTo(sha256("hello world".getBytes(StandardCharsets.US_ASCII))));
    }

    @Test
    void bodyLargerThanTheBufferIsNotRetriedOnceSent() {
        byte[] body = new byte[4096];
        int failed = 0;
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> r = sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/small/blob"))
                    .timeout(Duration.ofSeconds(10)).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build());
            failed += r.statusCode() == 502 ? 1 : 0;
        }
        assertThat(failed).as("PUTs over max_body_buffer that met the resetter are not retried").isPositive()
                .isEqualTo((int) seen(resetter, "PUT", "/small/"));
        assertThat(seen(good, "PUT", "/small/")).isEqualTo(6 - failed);
    }

    @Test
    void retriedStatusIsNeverForwardedAndItsConnectionIsReused() {
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = send("GET", "/busy/x", "");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("good");
        }
        assertThat(busy.seen()).hasSizeGreaterThanOrEqualTo(5);
        assertThat(busy.connections()).as("the dropped 503s kept their connection").isLessThanOrEqualTo(2);
    }

    @Test
    void anExhaustedRetryBudgetAnswersWithTheOriginalFailure() {
        int failed = 0;
        for (int i = 0; i < 10; i++) {
            failed += send("GET", "/nobudget/x", "").statusCode() == 502 ? 1 : 0;
        }
        assertThat(failed).as("resets not retried: the budget allows none").isPositive();
        assertThat(sluice.metric("sluice_retry_budget_exhausted_total", "pool=\"nobudget\"")).isEqualTo(failed);
        assertThat(sluice.metric("sluice_retries_total", "pool=\"nobudget\"")).isZero();
    }
}
