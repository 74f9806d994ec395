package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.sluice.proxy.testing.DeadPort;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a client gets when an upstream fails, and that Sluice names the cause. */
class FailuresIT {

    private TestBackend backend;
    private RunningSluice sluice;
    private final java.util.List<DeadPort> reserved = new java.util.ArrayList<>();

    @AfterEach
    void stop() {
        if (sluice != null) {
            sluice.close();
        }
        if (backend != null) {
            backend.close();
        }
        reserved.forEach(DeadPort::close);
    }

    /** A port nothing listens on, reserved until the test ends (a closed ServerSocket's port can be reused). */
    private int closedPort() {
        DeadPort dead = DeadPort.reserve();
        reserved.add(dead);
        return dead.port();
    }

    private RunningSluice start(String endpoints, String extra) {
        return RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    timeouts: { request_header: 300ms, idle: 5s }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ %s ]
                %s
                """.formatted(endpoints, extra));
    }

    @Test
    void connectRefusedIs503NamingTheCause() throws Exception {
        sluice = start("{ address: 127.0.0.1:" + closedPort() + " }", "");
        HttpResponse<String> r = sluice.get("web", "/");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(r.body()).isEqualTo("upstream connect refused\n");
        assertThat(sluice.admin("GET", "/metrics", null).body())
                .contains("sluice_proxy_errors_total{listener=\"web\",reason=\"connect_failed\"}");
    }

    @Test
    void connectFailureIsRetriedOnAnotherEndpoint() throws Exception {
        backend = TestBackend.start("alive");
        sluice = start("{ address: 127.0.0.1:" + closedPort() + " }, { address: " + backend.address() + " }", "");
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = sluice.get("web", "/" + i);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("alive");
        }
        assertThat(backend.seen()).hasSize(20);
    }

    @Test
    void resetBeforeResponseIs502() {
        backend = TestBackend.start("rude", (ctx, r) -> ctx.close());
        sluice = start("{ address: " + backend.address() + " }", "    retries: { attempts: 1 }");
        HttpResponse<String> r = sluice.get("web", "/");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).isEqualTo("upstream reset before response\n");
    }

    @Test
    void invalidUpstreamResponseIs502() {
        backend = TestBackend.start("broken", (ctx, r) -> ctx.channel().pipeline().firstContext().writeAndFlush(
                Unpooled.copiedBuffer("HTTP/1.1 2x0 Nope\r\n\r\n", StandardCharsets.US_ASCII)));
        sluice = start("{ address: " + backend.address() + " }", "");
        HttpResponse<String> r = sluice.get("web", "/");
        assertThat(r.statusCode()).isEqualTo(502);
        assertThat(r.body()).startsWith("upstream sent an invalid response");
    }

    @Test
    void silentUpstreamIs504AfterTheResponseHeaderTimeout() {
        backend = TestBackend.start("silent", (ctx, r) -> { });
        sluice = start("{ address: " + backend.address() + " }",
                "    timeouts: { response_header: 300ms }\n    retries: { attempts: 1 }");
        long t0 = System.nanoTime();
        HttpResponse<String> r = sluice.get("web", "/");
        long millis = (System.nanoTime() - t0) / 1_000_000;
        assertThat(r.statusCode()).isEqualTo(504);
        assertThat(r.body()).isEqualTo("upstream response timeout\n");
        assertThat(millis).isBetween(250L, 3000L);
    }

    @Test
    void slowRequestHeadIs408() throws Exception {
        backend = TestBackend.start("b");
        sluice = start("{ address: " + backend.address() + " }", "");
        try (RawHttp c = RawHttp.connect(sluice.port("web"))) {
            c.send("GET / HTTP/1.1\r\nHost: x\r\n");
            String answer = c.readAll();
            assertThat(answer).startsWith("HTTP/1.1 408 Request Timeout");
        }
        assertThat(backend.heads()).isZero();
    }

    @Test
    void idleKeepAliveConnectionIsClosedQuietly() throws Exception {
        backend = TestBackend.start("b");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { enabled: false }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    timeouts: { idle: 300ms }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                """.formatted(backend.address()));
        try (RawHttp c = RawHttp.connect(sluice.port("web"))) {
            c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            assertThat(c.readResponse()).startsWith("HTTP/1.1 200");
            assertThat(c.readAll()).isEmpty();
            assertThat(c.closedByPeer()).isTrue();
        }
    }

    @Test
    void stopsAcceptingAtMaxConnections() throws Exception {
        backend = TestBackend.start("b");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { enabled: false }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    limits: { max_connections: 2 }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                """.formatted(backend.address()));
        RawHttp first = RawHttp.connect(sluice.port("web"));
        RawHttp second = RawHttp.connect(sluice.port("web"));
        first.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(first.readResponse()).startsWith("HTTP/1.1 200");
        second.send("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(second.readResponse()).startsWith("HTTP/1.1 200");
        // A third connection waits in the kernel backlog (or, if it slipped in, is closed): it is never served
        // while two are open.
        try (RawHttp third = RawHttp.connect(sluice.port("web"))) {
            third.send("GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
            org.awaitility.Awaitility.await().during(java.time.Duration.ofMillis(500))
                    .atMost(java.time.Duration.ofSeconds(3)).untilAsserted(() ->
                            assertThat(backend.seen()).as("requests served while at the limit").hasSize(2));
            first.close();
            String answer;
            try {
                answer = third.readResponse();
            } catch (java.net.SocketException reset) {
                answer = "";
            }
            if (answer.isEmpty()) {
                try (RawHttp fourth = RawHttp.connect(sluice.port("web"))) {
                    fourth.send("GET /4 HTTP/1.1\r\nHost: x\r\n\r\n");
                    assertThat(fourth.readResponse()).startsWith("HTTP/1.1 200");
                }
            } else {
                assertThat(answer).startsWith("HTTP/1.1 200");
            }
        }
        second.close();
    }
}
