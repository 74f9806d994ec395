package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The basics of proxying through a real listener to real loopback backends. */
class ProxyIT {

    private TestBackend a;
    private TestBackend b;
    private RunningSluice sluice;

    @BeforeEach
    void start() {
        a = TestBackend.start("a");
        b = TestBackend.start("b");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - match: { path_prefix: /api/, host: api.example }
                        pool: api
                      - match: { path_prefix: /empty/ }
                        pool: empty
                      - match: { path_prefix: / , methods: [GET, POST, PUT, HEAD] }
                        pool: web
                pools:
                  - name: web
                    policy: round-robin
                    endpoints: [ { address: %s }, { address: %s } ]
                  - name: api
                    endpoints: [ { address: %s } ]
                  - name: empty
                    optional: true
                    endpoints: []
                """.formatted(a.address(), b.address(), b.address()));
    }

    @AfterEach
    void stop() {
        sluice.close();
        a.close();
        b.close();
    }

    @Test
    void forwardsAndBalancesRoundRobin() {
        int fromA = 0;
        int fromB = 0;
        for (int i = 0; i < 10; i++) {
            HttpResponse<String> r = sluice.get("web", "/hello");
            assertThat(r.statusCode()).isEqualTo(200);
            if (r.body().equals("a")) {
                fromA++;
            } else if (r.body().equals("b")) {
                fromB++;
            }
        }
        assertThat(fromA).isEqualTo(5);
        assertThat(fromB).isEqualTo(5);
    }

    @Test
    void routesByHostHeaderOverRawSocket() throws Exception {
        String answer = RawHttp.exchange(sluice.port("web"),
                "GET /api/x HTTP/1.1\r\nHost: API.example:8080\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200").endsWith("b");
        String other = RawHttp.exchange(sluice.port("web"),
                "GET /api/x HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n");
        assertThat(other).startsWith("HTTP/1.1 200");
    }

    @Test
    void answers404WithoutRouteAnd503WithoutEndpoints() {
        HttpResponse<String> noRoute = sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/x"))
                .method("DELETE", HttpRequest.BodyPublishers.noBody()).build());
        assertThat(noRoute.statusCode()).isEqualTo(404);
        assertThat(noRoute.body()).contains("no route");
        HttpResponse<String> empty = sluice.get("web", "/empty/x");
        assertThat(empty.statusCode()).isEqualTo(503);
        assertThat(empty.body()).contains("pool has no endpoints");
        assertThat(empty.headers().firstValue("retry-after")).isPresent();
    }

    @Test
    void reusesUpstreamConnections() throws Exception {
        try (RawHttp client = RawHttp.connect(sluice.port("web"))) {
            for (int i = 0; i < 20; i++) {
                client.send("GET /k HTTP/1.1\r\nHost: x\r\n\r\n");
                assertThat(client.readResponse()).startsWith("HTTP/1.1 200");
            }
        }
        // 20 requests over one client connection, round-robin over two backends: one connection each.
        assertThat(a.seen().size() + b.seen().size()).isEqualTo(20);
        assertThat(a.connections()).isEqualTo(1);
        assertThat(b.connections()).isEqualTo(1);
    }

    @Test
    void cleansHeaders() throws Exception {
        String answer = RawHttp.exchange(sluice.port("web"), "GET /h HTTP/1.1\r\nHost: example.com\r\n"
                + "Connection: close, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\n"
                + "TE: trailers\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Proto: https\r\nX-End: kept\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200").contains("x-request-id: ").contains("Connection: close");
        TestBackend.Seen seen = a.seen().isEmpty() ? b.seen().get(0) : a.seen().get(0);
        assertThat(seen.headers().get("X-Hop")).isNull();
        assertThat(seen.headers().get("Keep-Alive")).isNull();
        assertThat(seen.headers().get("Proxy-Connection")).isNull();
        assertThat(seen.headers().get("TE")).isNull();
        assertThat(seen.headers().get("X-End")).isEqualTo("kept");
        assertThat(seen.headers().get("X-Forwarded-For")).isEqualTo("10.1.1.1, 127.0.0.1");
        assertThat(seen.headers().get("X-Forwarded-Proto")).isEqualTo("http");
        assertThat(seen.headers().get("X-Forwarded-Host")).isEqualTo("example.com");
        assertThat(seen.headers().get("Forwarded")).isEqualTo("for=127.0.0.1;proto=http;host=example.com");
        assertThat(seen.headers().get("Via")).isEqualTo("1.1 sluice");
        assertThat(seen.headers().get("x-request-id")).matches("[0-9a-f]{32}");
        assertThat(seen.headers().get("Host")).isEqualTo("example.com");
    }

    @Test
    void keepsAWellFormedRequestId() {
        HttpResponse<String> r = sluice.send(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/id"))
                .header("x-request-id", "abc-123").build());
        assertThat(r.headers().firstValue("x-request-id")).contains("abc-123");
        TestBackend.Seen seen = a.seen().isEmpty() ? b.seen().get(0) : a.seen().get(0);
        assertThat(seen.headers().get("x-request-id")).isEqualTo("abc-123");
    }

    @Test
    void answersPipelinedRequestsInOrder() throws Exception {
        try (RawHttp client = RawHttp.connect(sluice.port("web"))) {
            client.send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            String first = client.readResponse();
            String second = client.readResponse();
            String third = client.readResponse();
            assertThat(List.of(first, second, third)).allMatch(r -> r.startsWith("HTTP/1.1 200"));
            // Round-robin alternates: the first and third answers come from the same backend.
            assertThat(first.substring(first.length() - 1)).isEqualTo(third.substring(third.length() - 1))
                    .isNotEqualTo(second.substring(second.length() - 1));
        }
        TestBackend odd = a.seen().size() == 2 ? a : b;
        TestBackend even = odd == a ? b : a;
        assertThat(odd.seen()).extracting(TestBackend.Seen::uri).containsExactly("/1", "/3");
        assertThat(even.seen()).extracting(TestBackend.Seen::uri).containsExactly("/2");
    }

    @Test
    void handlesExpectContinue() throws Exception {
        try (RawHttp client = RawHttp.connect(sluice.port("web"))) {
            client.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertThat(client.readUntil("\r\n\r\n")).startsWith("HTTP/1.1 100 Continue");
            client.send("hello");
            assertThat(client.readUntil("\r\n\r\n")).startsWith("HTTP/1.1 200");
        }
        TestBackend.Seen seen = a.seen().isEmpty() ? b.seen().get(0) : a.seen().get(0);
        assertThat(seen.bodyLength()).isEqualTo(5);
        assertThat(seen.headers().get("Expect")).isNull();
    }

    @Test
    void servesHeadAndHttp10() throws Exception {
        String head = RawHttp.exchange(sluice.port("web"), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(head).startsWith("HTTP/1.1 200").contains("Content-Length: 1").endsWith("\r\n\r\n");
        String old = RawHttp.exchange(sluice.port("web"), "GET / HTTP/1.0\r\n\r\n");
        assertThat(old).startsWith("HTTP/1.1 200").contains("Connection: close");
    }

    @Test
    void adminReportsHealthPoolsAndMetrics() {
        sluice.get("web", "/m");
        assertThat(sluice.admin("GET", "/healthz", null).statusCode()).isEqualTo(200);
        HttpResponse<String> ready = sluice.admin("GET", "/readyz", null);
        assertThat(ready.statusCode()).isEqualTo(200);
        HttpResponse<String> pools = sluice.admin("GET", "/api/v1/pools", null);
        assertThat(pools.body()).contains("\"name\":\"web\"").contains(a.address()).contains(b.address());
        HttpResponse<String> pool = sluice.admin("GET", "/api/v1/pools/web", null);
        assertThat(pool.statusCode()).isEqualTo(200);
        assertThat(sluice.admin("GET", "/api/v1/pools/nope", null).statusCode()).isEqualTo(404);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
            String metrics = sluice.admin("GET", "/metrics", null).body();
            assertThat(metrics).contains("sluice_requests_total{code=\"200\",endpoint=")
                    .contains("sluice_request_duration_seconds_bucket")
                    .contains("sluice_endpoint_up{endpoint=\"" + a.address() + "\",pool=\"web\"} 1.0")
                    .contains("sluice_upstream_active_requests");
        });
    }
}
