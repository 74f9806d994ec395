package io.sluice.proxy.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.ssl.SslContext;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP echo server on a loopback port for tests of tcp listeners: optionally behind TLS, optionally reading a
 * PROXY protocol header first (recorded, then the bytes after it are echoed). Writes are paced by the client's
 * reading (autoRead follows writability), so a large echo exercises backpressure end to end.
 */
public final class EchoBackend implements AutoCloseable {

    /** What a PROXY header declared. */
    public record Declared(String sourceAddress, int sourcePort, String destinationAddress, int destinationPort,
                           String version) {
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final Channel channel;
    private final String name;
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Declared> declared = new CopyOnWriteArrayList<>();

    private EchoBackend(String name, SslContext tls, boolean proxyProtocol) {
        this.name = name;
        channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        connections.incrementAndGet();
                        if (proxyProtocol) {
                            ch.pipeline().addLast(new HAProxyMessageDecoder(), new Capture());
                        }
                        if (tls != null) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                        }
                        ch.pipeline().addLast(new Echo());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    /** A plain echo server. */
    public static EchoBackend start(String name) {
        return new EchoBackend(name, null, false);
    }

    /** An echo server behind TLS. */
    public static EchoBackend startTls(String name, SslContext tls) {
        return new EchoBackend(name, tls, false);
    }

    /** An echo server that expects a PROXY protocol header on every connection. */
    public static EchoBackend startWithProxyProtocol(String name) {
        return new EchoBackend(name, null, true);
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** The name. */
    public String name() {
        return name;
    }

    /** Connections accepted. */
    public int connections() {
        return connections.get();
    }

    /** PROXY headers received, in order. */
    public List<Declared> declared() {
        return declared;
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Capture extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HAProxyMessage m) {
                declared.add(new Declared(m.sourceAddress(), m.sourcePort(), m.destinationAddress(),
                        m.destinationPort(), m.protocolVersion().name()));
                m.release();
                ctx.pipeline().remove(this);
                return;
            }
            ctx.fireChannelRead(msg);
        }
    }

    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ctx.write(msg);
            if (!ctx.channel().isWritable()) {
                ctx.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
