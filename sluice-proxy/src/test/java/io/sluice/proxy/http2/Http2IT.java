package io.sluice.proxy.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.internal.PlatformDependent;
import io.sluice.proxy.testing.Bytes;
import io.sluice.proxy.testing.H2TestClient;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 on a cleartext listener with real clients: prior knowledge (curl, Netty) and {@code Upgrade: h2c} (curl,
 * the JDK's HttpClient); bodies streamed both ways with flow control, trailers both ways, server-sent events
 * flushed one by one, many streams on one connection, Sluice's own errors.
 */
class Http2IT {

    static TestBackend backend;
    static RunningSluice sluice;

    @BeforeAll
    static void start() {
        backend = TestBackend.start("h2");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /none/ }, pool: empty }
                      - { match: { path_prefix: / }, pool: p }
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                  - name: empty
                    optional: true
                    endpoints: []
                """.formatted(backend.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        backend.close();
    }

    @BeforeEach
    void reset() {
        backend.behave((ctx, r) -> TestBackend.respond(ctx, 200, "h2"));
    }

    private static int port() {
        return sluice.port("web");
    }

    @Test
    void curlWithPriorKnowledgeAndWithUpgrade() throws Exception {
        assertThat(curl("--http2-prior-knowledge", sluice.url("web") + "/pk")).containsExactly("h2", "2 200");
        assertThat(curl("--http2", sluice.url("web") + "/upgrade")).containsExactly("h2", "2 200");
        assertThat(curl("--http1.1", sluice.url("web") + "/plain")).containsExactly("h2", "1.1 200");
    }

    @Test
    void jdkClientUpgradesAndThenMultiplexes() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> first = client.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/one"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(first.version()).isEqualTo(HttpClient.Version.HTTP_2);
        assertThat(first.body()).isEqualTo("h2");
        List<CompletableFuture<HttpResponse<String>>> many = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            many.add(client.sendAsync(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/many/" + i)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : many) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
        }
        assertThat(backend.seen()).anySatisfy(s -> assertThat(s.uri()).isEqualTo("/many/49"));
    }

    @Test
    void bodiesStreamBothWaysByteIdentical() throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        client.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/warm")).build(),
                HttpResponse.BodyHandlers.discarding());
        AtomicLong maxDirect = new AtomicLong();
        for (long size : new long[] {0, 1 << 20, 32L << 20}) {
            backend.behave((ctx, r) -> TestBackend.respondGenerated(ctx, size, 11));
            int before = backend.seen().size();
            HttpRequest post = HttpRequest.newBuilder(URI.create(sluice.url("web") + "/upload"))
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> Bytes.stream(size, 5)))
                    .timeout(Duration.ofSeconds(60)).build();
            HttpResponse<InputStream> r = client.send(post, HttpResponse.BodyHandlers.ofInputStream());
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_2);
            try (InputStream body = r.body()) {
                assertThat(Bytes.sha256(body)).isEqualTo(Bytes.sha256(size, 11));
            }
            maxDirect.accumulateAndGet(PlatformDependent.usedDirectMemory(), Math::max);
            TestBackend.Seen seen = backend.seen().get(before);
            assertThat(seen.bodyLength()).isEqualTo(size);
            assertThat(seen.bodySha256()).isEqualTo(Bytes.sha256(size, 5));
        }
        if (maxDirect.get() >= 0) {
            assertThat(maxDirect.get()).as("direct memory after 64 MB through h2").isLessThan(64L << 20);
        }
    }

    @Test
    void trailersTravelBothWays() throws Exception {
        backend.behave((ctx, r) -> {
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("body", StandardCharsets.US_ASCII)));
            LastHttpContent last = new DefaultLastHttpContent();
            last.trailingHeaders().set("x-checksum", "c0ffee").set("x-seen-trailer",
                    String.valueOf(r.trailers().get("x-client-trailer")));
            ctx.writeAndFlush(last);
        });
        try (H2TestClient client = H2TestClient.connect(port())) {
            H2TestClient.Response r = client.send(H2TestClient.request("POST", "/trailers"),
                    "payload".getBytes(StandardCharsets.US_ASCII),
                    new DefaultHttp2Headers().set("x-client-trailer", "t1")).get(10, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.text()).isEqualTo("body");
            assertThat(r.trailers().get("x-checksum")).hasToString("c0ffee");
            assertThat(r.trailers().get("x-seen-trailer")).hasToString("t1");
        }
    }

    @Test
    void serverSentEventsAreFlushedOneByOne() throws Exception {
        CompletableFuture<ChannelHandlerContext> waiting = new CompletableFuture<>();
        backend.behave((ctx, r) -> {
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set("content-type", "text/event-stream");
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer("data: one\n\n",
                    StandardCharsets.US_ASCII)));
            waiting.complete(ctx);
        });
        try (H2TestClient client = H2TestClient.connect(port())) {
            H2TestClient.Recorder rec = new H2TestClient.Recorder();
            Http2StreamChannel stream = client.open(rec);
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(H2TestClient.request("GET", "/events"), true));
            Object head = rec.next();
            assertThat(head).isInstanceOf(Http2HeadersFrame.class);
            assertThat(((Http2HeadersFrame) head).headers().get("content-type")).hasToString("text/event-stream");
            Object first = rec.next();
            assertThat(first).isInstanceOf(Http2DataFrame.class);
            assertThat(((Http2DataFrame) first).content().toString(StandardCharsets.US_ASCII))
                    .isEqualTo("data: one\n\n");
            ReferenceCountUtil.release(first);
            ChannelHandlerContext ctx = waiting.get(5, TimeUnit.SECONDS);
            ctx.executor().execute(() -> ctx.writeAndFlush(new DefaultLastHttpContent(Unpooled.copiedBuffer(
                    "data: two\n\n", StandardCharsets.US_ASCII))));
            Object second = rec.next();
            assertThat(((Http2DataFrame) second).content().toString(StandardCharsets.US_ASCII))
                    .isEqualTo("data: two\n\n");
            ReferenceCountUtil.release(second);
        }
    }

    @Test
    void sluiceErrorsReachH2Clients() throws Exception {
        try (H2TestClient client = H2TestClient.connect(port())) {
            H2TestClient.Response r = client.send(H2TestClient.request("GET", "/none/x"), null, null)
                    .get(10, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.text()).contains("pool empty");
            assertThat(r.headers().get("x-request-id")).isNotNull();
        }
    }

    static List<String> curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "--max-time", "10", "-sS", "-w",
                "\n%{http_version} %{http_code}"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
        return out.lines().toList();
    }
}
