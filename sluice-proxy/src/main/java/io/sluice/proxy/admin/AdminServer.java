package io.sluice.proxy.admin;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sluice.config.AdminConfig;
import io.sluice.proxy.server.SluiceServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The admin listener. It runs on an event loop of its own, apart from the data plane, so a slow scrape or a reload
 * never delays a proxied request; blocking work (reading the config, resolving a host) runs there too.
 */
public final class AdminServer implements AutoCloseable {

    private final EventLoopGroup group;
    private final Channel channel;

    private AdminServer(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /**
     * Starts the admin API.
     *
     * @throws IOException if the token file cannot be read or the address cannot be bound
     */
    public static AdminServer start(AdminConfig config, SluiceServer server) throws IOException {
        Optional<String> token = Optional.empty();
        if (config.tokenFile().isPresent()) {
            String t = Files.readString(config.tokenFile().get(), StandardCharsets.UTF_8).strip();
            if (t.isEmpty()) {
                throw new IOException("admin token file " + config.tokenFile().get() + " is empty");
            }
            token = Optional.of(t);
        }
        AdminApi api = new AdminApi(server, token);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sluice-admin", true),
                NioIoHandler.newFactory());
        ServerBootstrap b = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new AdminHandler(api));
                    }
                });
        io.netty.channel.ChannelFuture bound = b.bind(new InetSocketAddress(config.address().host(),
                config.address().port())).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            throw new IOException("admin: cannot bind " + config.address() + ": " + bound.cause().getMessage(),
                    bound.cause());
        }
        return new AdminServer(group, bound.channel());
    }

    /** The bound port. */
    public int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
