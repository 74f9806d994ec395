package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Balancing policies, hash keys, sticky sessions and Retry-After through the real proxy to three loopback backends. */
class BalancingIT {

    private TestBackend a;
    private TestBackend b;
    private TestBackend c;
    private RunningSluice sluice;

    @BeforeEach
    void start() {
        a = TestBackend.start("a");
        b = TestBackend.start("b");
        c = TestBackend.start("c");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /weighted/ }, pool: weighted }
                      - { match: { path_prefix: /by-header/ }, pool: by-header }
                      - { match: { path_prefix: /by-cookie/ }, pool: by-cookie }
                      - { match: { path_prefix: /by-query/ }, pool: by-query }
                      - { match: { path_prefix: /sticky/ }, pool: sticky }
                      - { match: { path_prefix: /lrt/ }, pool: lrt }
                pools:
                  - name: weighted
                    policy: weighted-round-robin
                    endpoints: [ { address: %1$s, weight: 1 }, { address: %2$s, weight: 2 }, { address: %3$s, weight: 3 } ]
                  - name: by-header
                    policy: maglev
                    hash_on: header:x-user
                    endpoints: [ { address: %1$s }, { address: %2$s }, { address: %3$s } ]
                  - name: by-cookie
                    policy: ring-hash
                    hash_on: cookie:uid
                    endpoints: [ { address: %1$s }, { address: %2$s }, { address: %3$s } ]
                  - name: by-query
                    policy: consistent-hash-bounded
                    hash_on: query:user
                    endpoints: [ { address: %1$s }, { address: %2$s }, { address: %3$s } ]
                  - name: sticky
                    policy: round-robin
                    sticky: { cookie: SLUICE_AFFINITY, ttl: 1h }
                    endpoints: [ { address: %1$s }, { address: %2$s }, { address: %3$s } ]
                  - name: lrt
                    policy: least-response-time
                    endpoints: [ { address: %1$s }, { address: %2$s }, { address: %3$s } ]
                """.formatted(a.address(), b.address(), c.address()));
    }

    @AfterEach
    void stop() {
        sluice.close();
        a.close();
        b.close();
        c.close();
    }

    private HttpResponse<String> get(String path, String... headers) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(sluice.url("web") + path))
                .timeout(Duration.ofSeconds(20));
        if (headers.length > 0) {
            r.headers(headers);
        }
        HttpResponse<String> response = sluice.send(r.build());
        assertThat(response.statusCode()).isEqualTo(200);
        return response;
    }

    @Test
    void weightedSplitAcrossThreeBackends() {
        Map<String, Integer> counts = new HashMap<>();
        for (int i = 0; i < 600; i++) {
            counts.merge(get("/weighted/x").body(), 1, Integer::sum);
        }
        // Smooth weighted round-robin is exact over whole periods (6 requests here).
        assertThat(counts).containsEntry("a", 100).containsEntry("b", 200).containsEntry("c", 300);

        // A weight changed through the admin API takes effect without a restart.
        HttpResponse<String> put = sluice.admin("PUT", "/api/v1/pools/weighted/endpoints/" + a.address()
                + "/weight", "{\"weight\":3}");
        assertThat(put.statusCode()).isEqualTo(200);
        counts.clear();
        for (int i = 0; i < 800; i++) {
            counts.merge(get("/weighted/x").body(), 1, Integer::sum);
        }
        assertThat(counts).containsEntry("a", 300).containsEntry("b", 200).containsEntry("c", 300);
    }

    @Test
    void hashOnHeaderSendsEachUserToOneBackend() {
        assertSameBackendPerUser(user -> get("/by-header/x", "x-user", user));
    }

    @Test
    void hashOnCookieSendsEachUserToOneBackend() {
        assertSameBackendPerUser(user -> get("/by-cookie/x", "Cookie", "theme=dark; uid=" + user));
    }

    @Test
    void hashOnQuerySendsEachUserToOneBackend() {
        assertSameBackendPerUser(user -> get("/by-query/x?user=" + URLEncoder.encode(user, StandardCharsets.UTF_8)
                + "&n=1"));
    }

    private void assertSameBackendPerUser(java.util.function.Function<String, HttpResponse<String>> request) {
        Set<String> used = new HashSet<>();
        for (int u = 0; u < 30; u++) {
            String user = "user-" + u;
            String first = request.apply(user).body();
            used.add(first);
            for (int i = 0; i < 4; i++) {
                assertThat(request.apply(user).body()).as(user).isEqualTo(first);
            }
        }
        assertThat(used).as("30 users spread over the backends").hasSize(3);
    }

    @Test
    void stickyCookieRoundTrip() {
        HttpResponse<String> first = get("/sticky/x");
        String setCookie = first.headers().firstValue("set-cookie").orElseThrow();
        assertThat(setCookie).matches("SLUICE_AFFINITY=[0-9a-f]{16}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax")
                .doesNotContain(a.address()).doesNotContain("Secure");
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        for (int i = 0; i < 12; i++) {
            HttpResponse<String> again = get("/sticky/x", "Cookie", cookie);
            assertThat(again.body()).isEqualTo(first.body());
            assertThat(again.headers().firstValue("set-cookie")).as("cookie still valid: not re-issued").isEmpty();
        }
        // Without the cookie the pool's round-robin spreads requests.
        Set<String> spread = new HashSet<>();
        for (int i = 0; i < 6; i++) {
            spread.add(get("/sticky/x").body());
        }
        assertThat(spread).hasSize(3);
    }

    @Test
    void stickyClientIsRePickedWhenItsEndpointIsRemoved() {
        HttpResponse<String> first = get("/sticky/x");
        String setCookie = first.headers().firstValue("set-cookie").orElseThrow();
        String cookie = setCookie.substring(0, setCookie.indexOf(';'));
        TestBackend served = List.of(a, b, c).stream().filter(t -> t.name().equals(first.body())).findFirst()
                .orElseThrow();
        HttpResponse<String> removed = sluice.admin("DELETE", "/api/v1/pools/sticky/endpoints/" + served.address(),
                null);
        assertThat(removed.statusCode()).isBetween(200, 204);

        HttpResponse<String> moved = get("/sticky/x", "Cookie", cookie);
        assertThat(moved.body()).isNotEqualTo(first.body());
        String reissued = moved.headers().firstValue("set-cookie").orElseThrow();
        String newCookie = reissued.substring(0, reissued.indexOf(';'));
        assertThat(newCookie).isNotEqualTo(cookie);
        for (int i = 0; i < 6; i++) {
            HttpResponse<String> again = get("/sticky/x", "Cookie", newCookie);
            assertThat(again.body()).isEqualTo(moved.body());
            assertThat(again.headers().firstValue("set-cookie")).isEmpty();
        }
    }

    @Test
    void leastResponseTimeLeavesAnEndpointAloneAfterRetryAfter() {
        c.behave((ctx, seen) -> {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.SERVICE_UNAVAILABLE, Unpooled.copiedBuffer("busy", StandardCharsets.UTF_8));
            r.headers().set("Retry-After", "60");
            HttpUtil.setContentLength(r, r.content().readableBytes());
            ctx.writeAndFlush(r);
        });
        for (int i = 0; i < 50 && c.seen().isEmpty(); i++) {
            // The 503 is retried on another endpoint (the default retries include 503): the client sees 200.
            assertThat(get("/lrt/x").body()).isIn("a", "b");
        }
        assertThat(c.seen()).as("c answered 503 once").hasSize(1);
        int seenByC = c.seen().size();
        for (int i = 0; i < 40; i++) {
            assertThat(get("/lrt/x").body()).isIn("a", "b");
        }
        assertThat(c.seen()).hasSize(seenByC);
    }
}
