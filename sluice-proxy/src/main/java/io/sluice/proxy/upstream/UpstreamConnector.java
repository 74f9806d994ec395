package io.sluice.proxy.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.sluice.endpoint.Member;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.server.Transport;

/** Opens connections to endpoints, on the event loop of the request that needs one. */
public final class UpstreamConnector {

    private final Transport transport;

    /** Creates a connector for a transport. */
    public UpstreamConnector(Transport transport) {
        this.transport = transport;
    }

    /**
     * Connects to a member. The future's channel carries an {@link UpstreamConnection} once connected.
     *
     * @param loop the event loop the connection will live on (the client connection's)
     */
    public ChannelFuture connect(EventLoop loop, PoolRuntime pool, Member member) {
        UpstreamConnection handler = new UpstreamConnection(member);
        return new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis())
                .option(ChannelOption.AUTO_READ, true)
                .handler(handler)
                .connect(pool.socketAddress(member));
    }

    /** The connection handler of a connected channel. */
    public static UpstreamConnection handlerOf(ChannelFuture connected) {
        return connected.channel().pipeline().get(UpstreamConnection.class);
    }
}
