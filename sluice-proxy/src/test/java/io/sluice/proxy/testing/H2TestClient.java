package io.sluice.proxy.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import java.io.ByteArrayOutputStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A small HTTP/2 client on Netty's frame codec, for what the JDK client cannot show: trailers, extended CONNECT
 * (RFC 8441), streams that stay open. Prior knowledge on cleartext, or TLS with ALPN h2.
 */
public final class H2TestClient implements AutoCloseable {

    /** A complete response. */
    public record Response(Http2Headers headers, byte[] body, Http2Headers trailers) {
        /** The status. */
        public int status() {
            return Integer.parseInt(headers.status().toString());
        }

        /** The body as text. */
        public String text() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;

    private H2TestClient(int port, SslContext tls) {
        channel = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc(), "localhost", port));
                        }
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                }).connect("127.0.0.1", port).syncUninterruptibly().channel();
    }

    /** Connects with prior knowledge (cleartext). */
    public static H2TestClient connect(int port) {
        return new H2TestClient(port, null);
    }

    /** Connects over TLS (the context must offer ALPN h2). */
    public static H2TestClient connectTls(int port, SslContext tls) {
        return new H2TestClient(port, tls);
    }

    /** Headers for a request. */
    public static Http2Headers request(String method, String path) {
        return new DefaultHttp2Headers().method(method).path(path).scheme("http").authority("test.local");
    }

    /** Sends a request with an optional body and trailers and collects the response. */
    public CompletableFuture<Response> send(Http2Headers headers, byte[] body, Http2Headers trailers) {
        CompletableFuture<Response> result = new CompletableFuture<>();
        Http2StreamChannel stream = open(new Collector(result));
        boolean noBody = body == null && trailers == null;
        stream.write(new DefaultHttp2HeadersFrame(headers, noBody));
        if (body != null) {
            stream.write(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(body), trailers == null));
        }
        if (trailers != null) {
            stream.write(new DefaultHttp2HeadersFrame(trailers, true));
        }
        stream.flush();
        return result;
    }

    /** Opens a stream with a handler of the test's. */
    public Http2StreamChannel open(ChannelHandler handler) {
        return new Http2StreamChannelBootstrap(channel).handler(handler).open().syncUninterruptibly().getNow();
    }

    /** The connection. */
    public Channel channel() {
        return channel;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** Collects a response's frames. */
    private static final class Collector extends ChannelInboundHandlerAdapter {
        private final CompletableFuture<Response> result;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private Http2Headers headers;

        Collector(CompletableFuture<Response> result) {
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h) {
                    if (headers == null || headers.status() != null && headers.status().charAt(0) == '1') {
                        headers = h.headers();
                        if (h.isEndStream()) {
                            result.complete(new Response(headers, body.toByteArray(), new DefaultHttp2Headers()));
                        }
                    } else {
                        result.complete(new Response(headers, body.toByteArray(), h.headers()));
                    }
                } else if (msg instanceof Http2DataFrame d) {
                    body.writeBytes(ByteBufUtil.getBytes(d.content()));
                    if (d.isEndStream()) {
                        result.complete(new Response(headers, body.toByteArray(), new DefaultHttp2Headers()));
                    }
                } else if (msg instanceof Http2ResetFrame r) {
                    result.completeExceptionally(new IllegalStateException("stream reset: " + r.errorCode()));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new IllegalStateException("stream closed before the response ended"));
        }
    }

    /** A stream handler that queues everything it reads (for streaming and tunnel tests). */
    public static final class Recorder extends ChannelInboundHandlerAdapter {
        private final BlockingQueue<Object> frames = new LinkedBlockingQueue<>();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            frames.add(msg);
        }

        /** The next frame, within 10 s. */
        public Object next() throws InterruptedException {
            Object f = frames.poll(10, TimeUnit.SECONDS);
            if (f == null) {
                throw new IllegalStateException("no frame within 10 s");
            }
            return f;
        }
    }
}
