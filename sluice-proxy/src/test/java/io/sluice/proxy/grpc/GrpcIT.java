package io.sluice.proxy.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.Http2Headers;
import io.sluice.endpoint.Member;
import io.sluice.proxy.health.GrpcHealthProbe;
import io.sluice.proxy.testing.H2TestClient;
import io.sluice.proxy.testing.RunningSluice;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real gRPC client and server (grpc-java, services defined by hand without protoc) through Sluice over HTTP/2:
 * unary and server-streaming calls, deadlines (the client's, and {@code grpc-timeout} enforced by Sluice), error
 * statuses relayed, Sluice's own errors as gRPC statuses, and the gRPC health check taking an endpoint out.
 */
class GrpcIT {

    static final MethodDescriptor.Marshaller<String> TEXT = new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(String value) {
            return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
        }

        @Override
        public String parse(InputStream stream) {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    };

    static final MethodDescriptor<String, String> SAY = method("test.Echo/Say", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> COUNT = method("test.Echo/Count",
            MethodDescriptor.MethodType.SERVER_STREAMING);
    static final MethodDescriptor<String, String> SLOW = method("test.Echo/Slow", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> FAIL = method("test.Echo/Fail", MethodDescriptor.MethodType.UNARY);
    static final MethodDescriptor<String, String> NOWHERE = method("test.Empty/Call",
            MethodDescriptor.MethodType.UNARY);

    static Server server;
    static HealthStatusManager health;
    static final AtomicInteger cancellations = new AtomicInteger();
    static final AtomicInteger slowCalls = new AtomicInteger();
    static RunningSluice sluice;
    static ManagedChannel channel;

    static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
        return MethodDescriptor.<String, String>newBuilder().setType(type).setFullMethodName(name)
                .setRequestMarshaller(TEXT).setResponseMarshaller(TEXT).build();
    }

    @BeforeAll
    static void start() throws Exception {
        ServerServiceDefinition echo = ServerServiceDefinition.builder("test.Echo")
                .addMethod(SAY, ServerCalls.asyncUnaryCall((req, out) -> {
                    out.onNext("hello " + req);
                    out.onCompleted();
                }))
                .addMethod(COUNT, ServerCalls.asyncServerStreamingCall((req, out) -> {
                    for (int i = 0; i < Integer.parseInt(req); i++) {
                        out.onNext("item-" + i);
                    }
                    out.onCompleted();
                }))
                .addMethod(SLOW, ServerCalls.asyncUnaryCall((req, out) -> {
                    slowCalls.incrementAndGet();
                    ((ServerCallStreamObserver<String>) out).setOnCancelHandler(cancellations::incrementAndGet);
                }))
                .addMethod(FAIL, ServerCalls.asyncUnaryCall((req, out) ->
                        out.onError(Status.NOT_FOUND.withDescription("no such thing: " + req).asRuntimeException())))
                .build();
        health = new HealthStatusManager();
        server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(echo)
                .addService(health.getHealthService()).build().start();
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: grpc
                    address: 127.0.0.1:0
                    routes:
                      - { match: { path_prefix: /test.Empty/ }, pool: empty }
                      - { match: { path_prefix: / }, pool: grpc }
                  - name: checked
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: checked } ]
                pools:
                  - name: grpc
                    protocol: h2c
                    endpoints: [ { address: 127.0.0.1:%1$d } ]
                  - name: checked
                    protocol: h2c
                    health_check: { type: grpc, grpc_service: test.Echo, interval: 100ms, timeout: 100ms,
                                    healthy_threshold: 1, unhealthy_threshold: 2, jitter: 0 }
                    endpoints: [ { address: 127.0.0.1:%1$d } ]
                  - name: empty
                    optional: true
                    endpoints: []
                """.formatted(server.getPort()));
        channel = NettyChannelBuilder.forAddress("127.0.0.1", sluice.port("grpc")).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        sluice.close();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    private static CallOptions within(long millis) {
        return CallOptions.DEFAULT.withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
    }

    @Test
    void unaryCall() {
        assertThat(ClientCalls.blockingUnaryCall(channel, SAY, within(5000), "world")).isEqualTo("hello world");
    }

    @Test
    void serverStreamingCall() {
        Iterator<String> items = ClientCalls.blockingServerStreamingCall(channel, COUNT, within(10_000), "1000");
        List<String> all = new ArrayList<>();
        items.forEachRemaining(all::add);
        assertThat(all).hasSize(1000).startsWith("item-0").endsWith("item-999");
    }

    @Test
    void deadlineExceededAndTheServerSeesTheCancellation() throws Exception {
        // A first call sets the connection up, so the deadline below is spent on the call alone.
        assertThat(ClientCalls.blockingUnaryCall(channel, SAY, within(10_000), "warm")).isEqualTo("hello warm");
        int calls = slowCalls.get();
        int before = cancellations.get();
        long t0 = System.nanoTime();
        var call = ClientCalls.futureUnaryCall(channel.newCall(SLOW, within(800)), "wait");
        await().atMost(Duration.ofSeconds(5)).until(() -> slowCalls.get() > calls);
        assertThatThrownBy(() -> call.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(StatusRuntimeException.class)
                .satisfies(e -> assertThat(((StatusRuntimeException) e.getCause()).getStatus().getCode())
                        .isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(700L, 5000L);
        // Sluice reset the endpoint's stream: the server saw the call cancelled.
        await().atMost(Duration.ofSeconds(5)).until(() -> cancellations.get() > before);
    }

    @Test
    void sluiceEnforcesGrpcTimeoutOnItsOwn() throws Exception {
        // A caller without a local deadline timer: Sluice must end the call when grpc-timeout says.
        try (H2TestClient client = H2TestClient.connect(sluice.port("grpc"))) {
            Http2Headers h = H2TestClient.request("POST", "/test.Echo/Slow");
            h.set("content-type", "application/grpc").set("te", "trailers").set("grpc-timeout", "200m");
            byte[] msg = {0, 0, 0, 0, 1, 'x'};
            long t0 = System.nanoTime();
            H2TestClient.Response r = client.send(h, msg, null).get(5, TimeUnit.SECONDS);
            long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(r.status()).isEqualTo(200);
            Http2Headers end = r.trailers().isEmpty() ? r.headers() : r.trailers();
            assertThat(end.get("grpc-status")).hasToString(Integer.toString(GrpcStatus.DEADLINE_EXCEEDED));
            assertThat(took).isBetween(150L, 3000L);
        }
    }

    @Test
    void errorStatusIsRelayed() {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, FAIL, within(5000), "x"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
                    assertThat(e.getStatus().getDescription()).isEqualTo("no such thing: x");
                });
    }

    @Test
    void sluiceErrorsBecomeGrpcStatuses() {
        assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(channel, NOWHERE, within(5000), "x"))
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(e.getStatus().getDescription()).contains("pool empty");
                });
    }

    @Test
    void grpcHealthCheckTakesTheEndpointOutAndBack() throws Exception {
        // The pool's active check (type: grpc, every 100 ms) runs in Sluice's health monitor.
        Member member = sluice.server().runtime().pool("checked").orElseThrow().pool().members().get(0);
        ManagedChannel checked = NettyChannelBuilder.forAddress("127.0.0.1", sluice.port("checked")).usePlaintext()
                .build();
        try {
            health.setStatus("test.Echo", HealthCheckResponse.ServingStatus.SERVING);
            await().atMost(Duration.ofSeconds(5)).until(member::checkPassing);
            assertThat(ClientCalls.blockingUnaryCall(checked, SAY, within(5000), "up")).isEqualTo("hello up");

            health.setStatus("test.Echo", HealthCheckResponse.ServingStatus.NOT_SERVING);
            await().atMost(Duration.ofSeconds(5)).until(() -> !member.checkPassing());
            assertThatThrownBy(() -> ClientCalls.blockingUnaryCall(checked, SAY, within(5000), "down"))
                    .isInstanceOfSatisfying(StatusRuntimeException.class, e ->
                            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));

            health.setStatus("test.Echo", HealthCheckResponse.ServingStatus.SERVING);
            await().atMost(Duration.ofSeconds(5)).until(member::checkPassing);
            assertThat(ClientCalls.blockingUnaryCall(checked, SAY, within(5000), "again")).isEqualTo("hello again");
        } finally {
            checked.shutdownNow();
        }
    }

    @Test
    void healthProbeReportsServingStatus() throws Exception {
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            health.setStatus("probe.Only", HealthCheckResponse.ServingStatus.SERVING);
            assertThat(probe(loop, "probe.Only").outcome()).isEqualTo(GrpcHealthProbe.Outcome.PASS);
            health.setStatus("probe.Only", HealthCheckResponse.ServingStatus.NOT_SERVING);
            GrpcHealthProbe.Result r = probe(loop, "probe.Only");
            assertThat(r.outcome()).isEqualTo(GrpcHealthProbe.Outcome.FAIL);
            assertThat(r.detail()).isEqualTo("NOT_SERVING");
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    @Test
    void healthProbeTellsUnknownServicesAndDeadEndpoints() throws Exception {
        EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            GrpcHealthProbe.Result unknown = GrpcHealthProbe.probe(loop.next(), NioSocketChannel.class,
                    new InetSocketAddress("127.0.0.1", server.getPort()), "x", "no.such.Service", Optional.empty(),
                    Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS);
            assertThat(unknown.outcome()).isEqualTo(GrpcHealthProbe.Outcome.FAIL);
            assertThat(unknown.detail()).isEqualTo("grpc-status " + Status.Code.NOT_FOUND.value());
            GrpcHealthProbe.Result dead = GrpcHealthProbe.probe(loop.next(), NioSocketChannel.class,
                    new InetSocketAddress("127.0.0.1", 1), "x", "", Optional.empty(), Duration.ofSeconds(2))
                    .get(5, TimeUnit.SECONDS);
            assertThat(dead.outcome()).isEqualTo(GrpcHealthProbe.Outcome.FAIL);
        } finally {
            loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }

    private static GrpcHealthProbe.Result probe(EventLoopGroup loop, String service) throws Exception {
        return GrpcHealthProbe.probe(loop.next(), NioSocketChannel.class,
                new InetSocketAddress("127.0.0.1", server.getPort()), "127.0.0.1:" + server.getPort(), service,
                Optional.empty(), Duration.ofSeconds(2)).get(5, TimeUnit.SECONDS);
    }

    @SuppressWarnings("unused")
    private static Object unused() {
        return Unpooled.EMPTY_BUFFER;
    }
}
