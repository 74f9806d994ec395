package io.sluice.proxy.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small HTTP/1.1 server on a loopback port for integration tests: it records what reaches it and answers as the
 * test's {@link Behaviour} says. Request bodies are streamed, never aggregated, so a 100 MB upload costs no memory:
 * the backend keeps their length and SHA-256.
 */
public final class TestBackend implements AutoCloseable {

    /** What a backend saw of one request. */
    public record Seen(String method, String uri, HttpHeaders headers, long bodyLength, String bodySha256,
                       String bodyPrefix, HttpHeaders trailers) {
    }

    /** How the backend answers a request. */
    @FunctionalInterface
    public interface Behaviour {
        /** Answers a request whose body has been fully read. Write the response with {@code ctx}. */
        void respond(ChannelHandlerContext ctx, Seen request);
    }

    private final EventLoopGroup group;
    private final Channel channel;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicInteger heads = new AtomicInteger();
    private final AtomicInteger streams = new AtomicInteger();
    private final java.util.concurrent.atomic.AtomicLong bodyBytes = new java.util.concurrent.atomic.AtomicLong();
    private volatile Behaviour behaviour;
    private final String name;

    private TestBackend(String name, Behaviour behaviour) {
        this(name, 0, behaviour, null, false);
    }

    private TestBackend(String name, int port, Behaviour behaviour) {
        this(name, port, behaviour, null, false);
    }

    private TestBackend(String name, Behaviour behaviour, io.netty.handler.ssl.SslContext tls) {
        this(name, 0, behaviour, tls, false);
    }

    private TestBackend(String name, Behaviour behaviour, io.netty.handler.ssl.SslContext tls, boolean http2) {
        this(name, 0, behaviour, tls, http2);
    }

    private TestBackend(String name, int port, Behaviour behaviour, io.netty.handler.ssl.SslContext tls,
                        boolean http2) {
        this.name = name;
        this.behaviour = behaviour;
        this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        this.channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        open.incrementAndGet();
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        if (http2) {
                            ch.pipeline().addLast(io.netty.handler.codec.http2.Http2FrameCodecBuilder.forServer()
                                    .build(), new io.netty.handler.codec.http2.Http2MultiplexHandler(
                                    new ChannelInitializer<Channel>() {
                                        @Override
                                        protected void initChannel(Channel stream) {
                                            streams.incrementAndGet();
                                            stream.pipeline().addLast(
                                                    new io.netty.handler.codec.http2
                                                            .Http2StreamFrameToHttpObjectCodec(true),
                                                    new io.netty.handler.stream.ChunkedWriteHandler(),
                                                    new Handler());
                                        }
                                    }));
                            return;
                        }
                        ch.pipeline().addLast(new HttpServerCodec(8192, 65536, 65536),
                                new io.netty.handler.stream.ChunkedWriteHandler(), new Handler());
                    }
                })
                .option(io.netty.channel.ChannelOption.SO_REUSEADDR, true)
                .bind(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
    }

    /** A backend answering every request with 200 and its name as the body. */
    public static TestBackend start(String name) {
        return new TestBackend(name, (ctx, r) -> respond(ctx, 200, name));
    }

    /** A backend answering with its name over TLS. */
    public static TestBackend startTls(String name, io.netty.handler.ssl.SslContext tls) {
        return new TestBackend(name, (ctx, r) -> respond(ctx, 200, name), tls);
    }

    /** A backend speaking HTTP/2 with prior knowledge (h2c), answering with its name. */
    public static TestBackend startH2c(String name) {
        return new TestBackend(name, (ctx, r) -> respond(ctx, 200, name), null, true);
    }

    /** A backend speaking HTTP/2 over TLS (the context must select h2 by ALPN), answering with its name. */
    public static TestBackend startH2(String name, io.netty.handler.ssl.SslContext tls) {
        return new TestBackend(name, (ctx, r) -> respond(ctx, 200, name), tls, true);
    }

    /** HTTP/2 streams received so far (h2 backends). */
    public int streams() {
        return streams.get();
    }

    /** A backend with a given behaviour. */
    public static TestBackend start(String name, Behaviour behaviour) {
        return new TestBackend(name, behaviour);
    }

    /** A backend with a given behaviour on a given port (0: any). */
    public static TestBackend start(String name, int port, Behaviour behaviour) {
        return new TestBackend(name, port, behaviour);
    }

    /** Writes a complete response with a text body. */
    public static void respond(ChannelHandlerContext ctx, int status, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
        HttpUtil.setContentLength(r, r.content().readableBytes());
        ctx.writeAndFlush(r);
    }

    /** Replaces the behaviour. */
    public void behave(Behaviour next) {
        this.behaviour = next;
    }

    /** The backend's name. */
    public String name() {
        return name;
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Requests fully received, in order. */
    public List<Seen> seen() {
        return seen;
    }

    /** Request heads received (including requests whose body never completed). */
    public int heads() {
        return heads.get();
    }

    /** Request body bytes received so far, over all requests (to watch a body arrive while it streams). */
    public long bodyBytes() {
        return bodyBytes.get();
    }

    /**
     * Streams a chunked response of {@code size} deterministic bytes ({@link Bytes#stream}) with backpressure, so even
     * a very large body costs the backend no memory.
     */
    public static void respondGenerated(ChannelHandlerContext ctx, long size, long seed) {
        io.netty.handler.codec.http.DefaultHttpResponse head = new io.netty.handler.codec.http.DefaultHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        HttpUtil.setTransferEncodingChunked(head, true);
        ctx.write(head);
        ctx.writeAndFlush(new io.netty.handler.codec.http.HttpChunkedInput(new GeneratedInput(size, seed)));
    }

    /** Produces the generated bytes in 64 KiB buffers, as fast as the channel takes them. */
    private static final class GeneratedInput implements io.netty.handler.stream.ChunkedInput<ByteBuf> {
        private final long size;
        private final long seed;
        private long position;

        GeneratedInput(long size, long seed) {
            this.size = size;
            this.seed = seed;
        }

        @Override
        public boolean isEndOfInput() {
            return position >= size;
        }

        @Override
        public void close() {
        }

        @Override
        @Deprecated
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(io.netty.buffer.ByteBufAllocator alloc) {
            if (position >= size) {
                return null;
            }
            int n = (int) Math.min(64 * 1024, size - position);
            byte[] bytes = new byte[n];
            Bytes.fill(seed, position, bytes, 0, n);
            position += n;
            return Unpooled.wrappedBuffer(bytes);
        }

        @Override
        public long length() {
            return size;
        }

        @Override
        public long progress() {
            return position;
        }
    }

    /** Connections accepted so far. */
    public int connections() {
        return connections.get();
    }

    /** Connections open now. */
    public int openConnections() {
        return open.get();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        private HttpRequest request;
        private MessageDigest digest;
        private long length;
        private final StringBuilder prefix = new StringBuilder();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            HttpObject o = (HttpObject) msg;
            if (o instanceof HttpRequest r) {
                heads.incrementAndGet();
                if (!r.decoderResult().isSuccess()) {
                    ctx.close();
                    return;
                }
                request = r;
                length = 0;
                prefix.setLength(0);
                try {
                    digest = MessageDigest.getInstance("SHA-256");
                } catch (NoSuchAlgorithmException e) {
                    throw new IllegalStateException(e);
                }
                if (HttpUtil.is100ContinueExpected(r)) {
                    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                }
            }
            if (o instanceof HttpContent c) {
                ByteBuf b = c.content();
                length += b.readableBytes();
                bodyBytes.addAndGet(b.readableBytes());
                if (prefix.length() < 256) {
                    prefix.append(b.toString(b.readerIndex(), Math.min(b.readableBytes(), 256 - prefix.length()),
                            StandardCharsets.ISO_8859_1));
                }
                digest.update(b.nioBuffer());
                c.release();
                if (c instanceof LastHttpContent && request != null) {
                    Seen s = new Seen(request.method().name(), request.uri(), request.headers(), length,
                            HexFormat.of().formatHex(digest.digest()), prefix.toString(),
                            ((LastHttpContent) c).trailingHeaders().copy());
                    seen.add(s);
                    request = null;
                    behaviour.respond(ctx, s);
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
