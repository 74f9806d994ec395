package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.internal.PlatformDependent;
import io.sluice.proxy.testing.Bytes;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Bodies stream through Sluice in both directions, arrive byte-identical, and are never buffered whole. */
class StreamingIT {

    private TestBackend backend;
    private RunningSluice sluice;

    @BeforeEach
    void start() {
        backend = TestBackend.start("stream");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                """.formatted(backend.address()));
    }

    @AfterEach
    void stop() {
        sluice.close();
        backend.close();
    }

    @Test
    void clientSeesFirstChunkBeforeBackendSendsTheLast() throws Exception {
        CompletableFuture<ChannelHandlerContext> waiting = new CompletableFuture<>();
        backend.behave((ctx, r) -> {
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("first-chunk", StandardCharsets.US_ASCII)));
            waiting.complete(ctx);
        });
        try (RawHttp client = RawHttp.connect(sluice.port("web"))) {
            client.send("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(client.readUntil("first-chunk")).contains("first-chunk").doesNotContain("last-chunk");
            ChannelHandlerContext ctx = waiting.get(5, TimeUnit.SECONDS);
            ctx.executor().execute(() -> ctx.writeAndFlush(new DefaultLastHttpContent(
                    Unpooled.copiedBuffer("last-chunk", StandardCharsets.US_ASCII))));
            assertThat(client.readUntil("0\r\n\r\n")).contains("last-chunk");
        }
    }

    @Test
    void backendSeesFirstRequestChunkBeforeClientSendsTheRest() throws Exception {
        try (RawHttp client = RawHttp.connect(sluice.port("web"))) {
            client.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "3e8\r\n" + "x".repeat(1000) + "\r\n");
            await().atMost(Duration.ofSeconds(5)).until(() -> backend.bodyBytes() >= 1000);
            assertThat(backend.seen()).isEmpty();
            client.send("5\r\nhello\r\n0\r\n\r\n");
            assertThat(client.readResponse()).startsWith("HTTP/1.1 200");
        }
        assertThat(backend.seen()).singleElement().satisfies(s -> assertThat(s.bodyLength()).isEqualTo(1005));
    }

    @org.junit.jupiter.api.Timeout(60)
    @ParameterizedTest(name = "{0} bytes each way")
    @ValueSource(longs = {0, 1 << 20, 100L << 20})
    void bodiesArriveByteIdenticalBothWays(long size) throws Exception {
        backend.behave((ctx, r) -> TestBackend.respondGenerated(ctx, size, 7));
        AtomicLong maxDirect = new AtomicLong();
        // Samples Netty's direct memory every 5 ms while the bodies stream.
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
        sampler.scheduleAtFixedRate(() -> maxDirect.accumulateAndGet(PlatformDependent.usedDirectMemory(),
                Math::max), 0, 5, TimeUnit.MILLISECONDS);
        try {
            // Fixed length (Content-Length) ...
            HttpRequest fixed = HttpRequest.newBuilder(URI.create(sluice.url("web") + "/fixed"))
                    .POST(size == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.fromPublisher(
                            HttpRequest.BodyPublishers.ofInputStream(() -> Bytes.stream(size, 3)), size))
                    .timeout(Duration.ofSeconds(120)).build();
            HttpResponse<InputStream> r = sluice.http().send(fixed, HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.statusCode()).isEqualTo(200);
            try (InputStream body = r.body()) {
                assertThat(Bytes.sha256(body)).isEqualTo(Bytes.sha256(size, 7));
            }
            // ... and unknown length (chunked).
            HttpRequest chunked = HttpRequest.newBuilder(URI.create(sluice.url("web") + "/chunked"))
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> Bytes.stream(size, 4)))
                    .timeout(Duration.ofSeconds(120)).build();
            HttpResponse<InputStream> r2 = sluice.http().send(chunked, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream body = r2.body()) {
                assertThat(Bytes.sha256(body)).isEqualTo(Bytes.sha256(size, 7));
            }
        } finally {
            sampler.shutdownNow();
            assertThat(sampler.awaitTermination(5, TimeUnit.SECONDS)).isTrue();
        }
        assertThat(backend.seen()).hasSize(2);
        assertThat(backend.seen().get(0).bodyLength()).isEqualTo(size);
        assertThat(backend.seen().get(0).bodySha256()).isEqualTo(Bytes.sha256(size, 3));
        assertThat(backend.seen().get(1).bodySha256()).isEqualTo(Bytes.sha256(size, 4));
        // Client, proxy and backend share this JVM; 200 MB went through and direct memory stayed small.
        if (maxDirect.get() >= 0) {
            assertThat(maxDirect.get()).as("peak direct memory in bytes").isLessThan(64L << 20);
        }
    }
}
