package io.sluice.sim.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code sluice sim}: N simulated OpenAI-compatible model servers in one process, each with its own engine, on
 * consecutive ports (or OS-chosen ports with port 0).
 *
 * <p>{@code SimServer.start(options)} binds every replica and returns; {@link #close()} stops them. The replicas
 * share Netty event loops; each has its own engine thread ({@link EngineLoop}).
 */
public final class SimServer implements AutoCloseable {

    private static final int MAX_BODY_BYTES = 32 << 20;

    private final EventLoopGroup group;
    private final List<Replica> replicas;
    private final List<Channel> channels;

    private SimServer(EventLoopGroup group, List<Replica> replicas, List<Channel> channels) {
        this.group = group;
        this.replicas = replicas;
        this.channels = channels;
    }

    /**
     * Starts every replica.
     *
     * @throws IllegalStateException if a port cannot be bound (everything started is stopped again)
     */
    public static SimServer start(SimOptions options) {
        int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        List<Replica> replicas = new ArrayList<>();
        List<Channel> channels = new ArrayList<>();
        SimServer server = new SimServer(group, replicas, channels);
        try {
            for (int i = 0; i < options.replicas(); i++) {
                Replica replica = new Replica(options, i);
                replicas.add(replica);
                SimHandler handler = new SimHandler(replica);
                int port = options.port() == 0 ? 0 : options.port() + i;
                ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                        .option(ChannelOption.SO_BACKLOG, 1024)
                        .childOption(ChannelOption.TCP_NODELAY, true)
                        .childHandler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(MAX_BODY_BYTES),
                                        handler);
                            }
                        });
                try {
                    channels.add(b.bind(options.host(), port).syncUninterruptibly().channel());
                } catch (RuntimeException e) {
                    throw new IllegalStateException("cannot listen on " + options.host() + ":" + port + ": "
                            + e.getMessage(), e);
                }
            }
            return server;
        } catch (RuntimeException e) {
            server.close();
            throw e;
        }
    }

    /** The bound ports, one per replica, in order. */
    public List<Integer> ports() {
        List<Integer> ports = new ArrayList<>();
        for (Channel c : channels) {
            ports.add(((InetSocketAddress) c.localAddress()).getPort());
        }
        return ports;
    }

    /** The bound addresses, one per replica, in order. */
    public List<InetSocketAddress> addresses() {
        List<InetSocketAddress> out = new ArrayList<>();
        for (Channel c : channels) {
            out.add((InetSocketAddress) c.localAddress());
        }
        return out;
    }

    /** Number of replicas. */
    public int replicas() {
        return replicas.size();
    }

    /** Blocks until the server is closed (from another thread or a shutdown hook). */
    public void awaitClose() throws InterruptedException {
        for (Channel c : channels) {
            c.closeFuture().await();
        }
    }

    /** Stops accepting, closes connections and stops the engines. */
    @Override
    public void close() {
        for (Channel c : channels) {
            c.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        for (Replica r : replicas) {
            r.close();
        }
    }
}
