package io.sluice.proxy.websocket;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolConfig;
import io.netty.handler.codec.http.websocketx.WebSocketServerProtocolHandler;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.util.ReferenceCountUtil;
import io.sluice.proxy.testing.H2TestClient;
import io.sluice.proxy.testing.RunningSluice;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * WebSocket through Sluice: the HTTP/1.1 Upgrade becomes a two-way tunnel (10,000 messages echoed for the JDK's
 * WebSocket client, clean close from either side), and over HTTP/2 an extended CONNECT (RFC 8441) reaches the same
 * HTTP/1.1 WebSocket backend.
 */
class WebSocketIT {

    static EventLoopGroup group;
    static Channel backend;
    static final AtomicInteger backendClosesSeen = new AtomicInteger();
    static RunningSluice sluice;

    @BeforeAll
    static void start() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        backend = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new WebSocketServerProtocolHandler(WebSocketServerProtocolConfig.newBuilder()
                                        .websocketPath("/ws").handleCloseFrames(false).build()),
                                new Echo());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: ws } ]
                pools:
                  - name: ws
                    endpoints: [ { address: 127.0.0.1:%d } ]
                """.formatted(((InetSocketAddress) backend.localAddress()).getPort()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        backend.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Echoes text frames; "bye-from-server" makes it close the connection itself. */
    static final class Echo extends SimpleChannelInboundHandler<WebSocketFrame> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, WebSocketFrame frame) {
            if (frame instanceof TextWebSocketFrame t) {
                if (t.text().equals("bye-from-server")) {
                    ctx.writeAndFlush(new CloseWebSocketFrame(1001, "going away"));
                    return;
                }
                ctx.writeAndFlush(new TextWebSocketFrame(t.text()));
            } else if (frame instanceof CloseWebSocketFrame c) {
                backendClosesSeen.incrementAndGet();
                ctx.writeAndFlush(new CloseWebSocketFrame(c.statusCode(), c.reasonText()))
                        .addListener(f -> ctx.close());
            }
        }
    }

    /** Collects what a JDK WebSocket receives. */
    static final class Collector implements WebSocket.Listener {
        final List<String> texts = new CopyOnWriteArrayList<>();
        final CompletableFuture<Integer> closed = new CompletableFuture<>();
        private final StringBuilder part = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            part.append(data);
            if (last) {
                texts.add(part.toString());
                part.setLength(0);
            }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
            closed.complete(statusCode);
            return null;
        }

        @Override
        public void onError(WebSocket ws, Throwable error) {
            closed.completeExceptionally(error);
        }
    }

    private static WebSocket open(Collector c) {
        return HttpClient.newHttpClient().newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5))
                .buildAsync(URI.create("ws://127.0.0.1:" + sluice.port("web") + "/ws"), c).join();
    }

    @Test
    void tenThousandMessagesEchoedAndClientCloses() throws Exception {
        Collector c = new Collector();
        WebSocket ws = open(c);
        int n = 10_000;
        for (int i = 0; i < n; i++) {
            ws.sendText("message-" + i, true).get(5, TimeUnit.SECONDS);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> c.texts.size() >= n);
        assertThat(c.texts).hasSize(n);
        for (int i = 0; i < n; i += 997) {
            assertThat(c.texts.get(i)).isEqualTo("message-" + i);
        }
        assertThat(c.texts.get(n - 1)).isEqualTo("message-" + (n - 1));
        int closesBefore = backendClosesSeen.get();
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(5, TimeUnit.SECONDS);
        assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(WebSocket.NORMAL_CLOSURE);
        assertThat(backendClosesSeen.get()).isEqualTo(closesBefore + 1);
        await().atMost(Duration.ofSeconds(5)).until(() -> sluice.server().metrics().counterValue(
                "sluice_requests_total", "listener", "web", "code", "101") >= 1);
    }

    @Test
    void serverClosesCleanly() throws Exception {
        Collector c = new Collector();
        WebSocket ws = open(c);
        ws.sendText("hello", true).get(5, TimeUnit.SECONDS);
        await().atMost(Duration.ofSeconds(5)).until(() -> c.texts.contains("hello"));
        ws.sendText("bye-from-server", true).get(5, TimeUnit.SECONDS);
        assertThat(c.closed.get(5, TimeUnit.SECONDS)).isEqualTo(1001);
    }

    @Test
    void extendedConnectOverHttp2ReachesTheSameBackend() throws Exception {
        try (H2TestClient client = H2TestClient.connect(sluice.port("web"))) {
            H2TestClient.Recorder rec = new H2TestClient.Recorder();
            Http2StreamChannel stream = client.open(rec);
            Http2Headers h = H2TestClient.request("CONNECT", "/ws");
            h.set(Http2Headers.PseudoHeaderName.PROTOCOL.value(), "websocket");
            h.set("sec-websocket-version", "13");
            stream.writeAndFlush(new DefaultHttp2HeadersFrame(h, false));
            Object head = rec.next();
            assertThat(head).isInstanceOf(Http2HeadersFrame.class);
            assertThat(((Http2HeadersFrame) head).headers().status()).hasToString("200");
            assertThat(((Http2HeadersFrame) head).isEndStream()).isFalse();

            EmbeddedChannel encoder = new EmbeddedChannel(new WebSocket08FrameEncoder(true));
            EmbeddedChannel decoder = new EmbeddedChannel(new WebSocket08FrameDecoder(false, true, 65536));
            for (int i = 0; i < 100; i++) {
                encoder.writeOutbound(new TextWebSocketFrame("h2-" + i));
                ByteBuf wire = Unpooled.buffer();
                for (Object o = encoder.readOutbound(); o != null; o = encoder.readOutbound()) {
                    wire.writeBytes((ByteBuf) o);
                    ((ByteBuf) o).release();
                }
                stream.writeAndFlush(new DefaultHttp2DataFrame(wire, false));
            }
            int got = 0;
            while (got < 100) {
                Object f = rec.next();
                assertThat(f).isInstanceOf(Http2DataFrame.class);
                decoder.writeInbound(((Http2DataFrame) f).content().retain());
                ReferenceCountUtil.release(f);
                for (Object o = decoder.readInbound(); o != null; o = decoder.readInbound()) {
                    assertThat(((TextWebSocketFrame) o).text()).isEqualTo("h2-" + got);
                    ReferenceCountUtil.release(o);
                    got++;
                }
            }
            encoder.finishAndReleaseAll();
            decoder.finishAndReleaseAll();
        }
    }
}
