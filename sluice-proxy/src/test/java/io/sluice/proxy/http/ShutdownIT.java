package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.channel.ChannelHandlerContext;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.ConnectException;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Graceful shutdown: in-flight requests finish, idle connections close, nothing new is accepted. */
class ShutdownIT {

    @Test
    void drainsInFlightRequestsAndRefusesNewConnections() throws Exception {
        CompletableFuture<ChannelHandlerContext> held = new CompletableFuture<>();
        try (TestBackend backend = TestBackend.start("slow", (ctx, r) -> held.complete(ctx))) {
            RunningSluice sluice = RunningSluice.start("""
                    access_log: { path: off }
                    admin: { enabled: false }
                    listeners:
                      - name: web
                        address: 127.0.0.1:0
                        routes: [ { match: { path_prefix: / }, pool: p } ]
                    pools:
                      - name: p
                        endpoints: [ { address: %s } ]
                    """.formatted(backend.address()));
            int port = sluice.port("web");
            RawHttp idle = RawHttp.connect(port);
            CompletableFuture<HttpResponse<String>> inFlight = CompletableFuture.supplyAsync(
                    () -> sluice.get("web", "/slow"));
            ChannelHandlerContext ctx = held.get(10, TimeUnit.SECONDS);
            CompletableFuture<Boolean> stopped = CompletableFuture.supplyAsync(
                    () -> sluice.server().shutdown(Duration.ofSeconds(10)));
            // The listener stops accepting and the idle connection is closed...
            await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
                    assertThatThrownBy(() -> RawHttp.connect(port).close()).isInstanceOf(ConnectException.class));
            assertThat(idle.closedByPeer()).isTrue();
            assertThat(stopped).isNotDone();
            // ... while the request in flight is answered in full.
            ctx.executor().execute(() -> TestBackend.respond(ctx, 200, "finished"));
            HttpResponse<String> r = inFlight.get(10, TimeUnit.SECONDS);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("finished");
            assertThat(r.headers().firstValue("connection")).contains("close");
            assertThat(stopped.get(10, TimeUnit.SECONDS)).as("drained within the timeout").isTrue();
            idle.close();
        }
    }
}
