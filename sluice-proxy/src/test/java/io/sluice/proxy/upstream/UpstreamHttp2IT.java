package io.sluice.proxy.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContextBuilder;
import io.sluice.proxy.testing.Bytes;
import io.sluice.proxy.testing.H2TestClient;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import io.sluice.proxy.testing.TestCertificates;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP/2 to endpoints ({@code protocol: h2c} and {@code h2}): requests from HTTP/1.1 and HTTP/2 clients are
 * multiplexed as streams over few connections, bodies and trailers pass both ways.
 */
class UpstreamHttp2IT {

    @TempDir
    static Path dir;
    static TestBackend h2c;
    static TestBackend h2;
    static RunningSluice sluice;

    @BeforeAll
    static void start() throws Exception {
        TestCertificates.Issued ca = TestCertificates.ca("Upstream CA");
        Files.writeString(dir.resolve("ca.pem"), TestCertificates.pem(ca.certificate()));
        TestCertificates.Issued cert = ca.issueServer("h2.internal", List.of("h2.internal"));
        h2c = TestBackend.startH2c("h2c-backend");
        h2 = TestBackend.startH2("h2-backend", SslContextBuilder.forServer(cert.keys().getPrivate(),
                cert.certificate()).applicationProtocolConfig(new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN, ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_2))
                .build());
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                io_threads: 2
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /tls/ }, pool: h2 }
                      - { match: { path_prefix: / }, pool: h2c }
                pools:
                  - name: h2c
                    protocol: h2c
                    endpoints: [ { address: %s } ]
                  - name: h2
                    protocol: h2
                    tls: { ca: %s/ca.pem, server_name: h2.internal }
                    endpoints: [ { address: %s } ]
                """.formatted(h2c.address(), dir, h2.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        h2c.close();
        h2.close();
    }

    @Test
    void http1ClientsAreMultiplexedOverFewConnections() throws Exception {
        h2c.behave((ctx, r) -> TestBackend.respond(ctx, 200, "h2c-backend"));
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            all.add(sluice.http().sendAsync(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/m/" + i))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(20, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("h2c-backend");
        }
        assertThat(h2c.streams()).isGreaterThanOrEqualTo(40);
        // One connection per event loop at most (two loops), however many requests were in flight.
        assertThat(h2c.connections()).isBetween(1, 2);
        assertThat(h2c.seen()).anySatisfy(s -> {
            assertThat(s.uri()).startsWith("/m/");
            assertThat(s.headers().get("x-forwarded-for")).isEqualTo("127.0.0.1");
        });
    }

    @Test
    void bodiesAndTrailersPassBothWays() throws Exception {
        long size = 4L << 20;
        h2c.behave((ctx, r) -> TestBackend.respondGenerated(ctx, size, 21));
        HttpRequest post = HttpRequest.newBuilder(URI.create(sluice.url("web") + "/upload"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> Bytes.stream(size, 22)))
                .timeout(Duration.ofSeconds(60)).build();
        int before = h2c.seen().size();
        HttpResponse<InputStream> r = sluice.http().send(post, HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = r.body()) {
            assertThat(Bytes.sha256(body)).isEqualTo(Bytes.sha256(size, 21));
        }
        assertThat(h2c.seen().get(before).bodySha256()).isEqualTo(Bytes.sha256(size, 22));

        h2c.behave((ctx, seen) -> {
            DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("part", StandardCharsets.US_ASCII)));
            LastHttpContent last = new DefaultLastHttpContent();
            last.trailingHeaders().set("grpc-status", "0").set("echo", String.valueOf(seen.trailers().get("t")));
            ctx.writeAndFlush(last);
        });
        try (H2TestClient client = H2TestClient.connect(sluice.port("web"))) {
            H2TestClient.Response resp = client.send(H2TestClient.request("POST", "/trailers"),
                    "x".getBytes(StandardCharsets.US_ASCII), new DefaultHttp2Headers().set("t", "v1"))
                    .get(10, TimeUnit.SECONDS);
            assertThat(resp.text()).isEqualTo("part");
            assertThat(resp.trailers().get("grpc-status")).hasToString("0");
            assertThat(resp.trailers().get("echo")).hasToString("v1");
        }
    }

    @Test
    void h2OverTlsWithAlpn() {
        HttpResponse<String> r = sluice.get("web", "/tls/x");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("h2-backend");
        assertThat(h2.streams()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void headAndNoContentResponses() throws Exception {
        h2c.behave((ctx, r) -> TestBackend.respond(ctx, r.uri().endsWith("204") ? 204 : 200, r.uri().endsWith("204")
                ? "" : "0123456789"));
        HttpResponse<String> head = sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/h"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValue("content-length")).contains("10");
        assertThat(head.body()).isEmpty();
        HttpResponse<String> none = sluice.get("web", "/204");
        assertThat(none.statusCode()).isEqualTo(204);
        assertThat(sluice.get("web", "/after").body()).isEqualTo("0123456789");
    }
}
