package io.sluice.proxy.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Circuit breakers through the real proxy: over {@code max_requests}, a full pending queue or a wait longer than
 * {@code pending_timeout}, the client gets an immediate 503 with {@code Retry-After}, and each refusal is counted.
 */
class LimitsIT {

    private static TestBackend slow(String name, long millis) {
        return TestBackend.start(name, (ctx, r) -> ctx.executor().schedule(() -> TestBackend.respond(ctx, 200, name),
                millis, TimeUnit.MILLISECONDS));
    }

    private static RunningSluice sluice(String pool) {
        return RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                io_threads: 1
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: web } ]
                pools:
                """ + pool);
    }

    /** Sends requests at once, each on its own connection; returns the responses with their latency. */
    private static List<Timed> concurrently(RunningSluice sluice, int n) {
        List<CompletableFuture<Timed>> futures = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            java.net.http.HttpClient own = java.net.http.HttpClient.newBuilder()
                    .version(java.net.http.HttpClient.Version.HTTP_1_1).build();
            long start = System.nanoTime();
            futures.add(own.sendAsync(HttpRequest.newBuilder(URI.create(sluice.url("web") + "/x"))
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString())
                    .thenApply(r -> new Timed(r, (System.nanoTime() - start) / 1_000_000)));
        }
        return futures.stream().map(CompletableFuture::join).toList();
    }

    private record Timed(HttpResponse<String> response, long millis) {
        int status() {
            return response.statusCode();
        }
    }

    @Test
    void overMaxRequestsTheClientGetsAnImmediate503WithRetryAfter() {
        try (TestBackend a = slow("a", 1000);
             RunningSluice sluice = sluice("""
                  - name: web
                    endpoints: [ { address: %s } ]
                    limits: { max_requests: 2, retry_after: 3s }
                """.formatted(a.address()))) {
            List<Timed> results = concurrently(sluice, 3);
            List<Timed> refused = results.stream().filter(t -> t.status() == 503).toList();
            List<Timed> served = results.stream().filter(t -> t.status() == 200).toList();
            assertThat(served).hasSize(2);
            assertThat(refused).hasSize(1);
            assertThat(refused.get(0).response().headers().firstValue("retry-after")).contains("3");
            // Refused at admission: before the backend's 1 s answer, and before either served request ends (on a
            // loaded machine a connection set-up alone can take a few hundred ms, so no tighter absolute bound).
            assertThat(refused.get(0).millis()).as("refused at once, not after the backend's 1 s")
                    .isLessThan(1000).isLessThan(served.stream().mapToLong(Timed::millis).min().orElseThrow());
            assertThat(sluice.metric("sluice_circuit_breaker_overflows_total", "pool=\"web\"",
                    "resource=\"requests\"")).isEqualTo(1);
        }
    }

    @Test
    void perEndpointRequestLimitSendsTheRequestToAnotherEndpointFirst() {
        try (TestBackend a = slow("a", 300); TestBackend b = slow("b", 300);
             RunningSluice sluice = sluice("""
                  - name: web
                    endpoints: [ { address: %s }, { address: %s } ]
                    limits: { max_requests_per_endpoint: 1 }
                """.formatted(a.address(), b.address()))) {
            List<Timed> results = concurrently(sluice, 3);
            assertThat(results.stream().filter(t -> t.status() == 200).map(t -> t.response().body()))
                    .containsExactlyInAnyOrder("a", "b");
            assertThat(results.stream().filter(t -> t.status() == 503)).hasSize(1);
        }
    }

    @Test
    void requestsWaitForAConnectionWithinPendingTimeoutAndOverflowOtherwise() {
        try (TestBackend a = slow("a", 500);
             RunningSluice sluice = sluice("""
                  - name: web
                    endpoints: [ { address: %s } ]
                    limits: { max_connections: 1, max_pending: 1, pending_timeout: 200ms }
                """.formatted(a.address()))) {
            List<Timed> results = concurrently(sluice, 3);
            assertThat(results.stream().filter(t -> t.status() == 200)).hasSize(1);
            List<Timed> refused = results.stream().filter(t -> t.status() == 503).toList();
            assertThat(refused).hasSize(2).allSatisfy(t -> assertThat(t.response().headers()
                    .firstValue("retry-after")).contains("1"));
            assertThat(sluice.metric("sluice_circuit_breaker_overflows_total", "resource=\"pending\"")).isEqualTo(1);
            assertThat(sluice.metric("sluice_circuit_breaker_overflows_total", "resource=\"pending_timeout\""))
                    .isEqualTo(1);
            assertThat(refused.stream().mapToLong(Timed::millis).max().orElseThrow())
                    .as("the waiter gave up after pending_timeout, long before the 500 ms response")
                    .isBetween(150L, 450L);
        }
    }

    @Test
    void waitersAreServedAsConnectionsFreeUp() {
        try (TestBackend a = slow("a", 50);
             RunningSluice sluice = sluice("""
                  - name: web
                    endpoints: [ { address: %s } ]
                    limits: { max_connections: 1, max_pending: 10, pending_timeout: 5s }
                """.formatted(a.address()))) {
            List<Timed> results = concurrently(sluice, 5);
            assertThat(results).allSatisfy(t -> assertThat(t.status()).isEqualTo(200));
            assertThat(a.seen()).hasSize(5);
            assertThat(sluice.metric("sluice_circuit_breaker_overflows_total")).isZero();
            assertThat(sluice.metric("sluice_pending_requests", "pool=\"web\"")).isZero();
        }
    }
}
