package io.sluice.proxy.upstream;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Member;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.server.Transport;
import java.util.List;

/**
 * Opens connections to endpoints, on the event loop of the request that needs one.
 *
 * <p>For a pool with {@code tls}, the connection counts as made once the TLS handshake succeeded: a certificate
 * that does not verify fails the attempt like a refused connection, so the request goes to another endpoint or
 * gets 503.
 */
public final class UpstreamConnector {

    private final Transport transport;

    /** Creates a connector for a transport. */
    public UpstreamConnector(Transport transport) {
        this.transport = transport;
    }

    /**
     * Connects to a member for one request: a new HTTP/1.1 connection, or a new stream on a multiplexed HTTP/2
     * connection for {@code h2c} and {@code h2} pools.
     *
     * @param loop the event loop the connection will live on (the client connection's)
     */
    public Future<UpstreamConnection> connect(EventLoop loop, PoolRuntime pool, Member member) {
        if (pool.config().protocol() != PoolConfig.UpstreamProtocol.HTTP1) {
            return Http2UpstreamSessions.current().openStream(this, loop, pool, member);
        }
        UpstreamConnection handler = new UpstreamConnection(member);
        Promise<UpstreamConnection> result = loop.newPromise();
        connect(loop, pool, member, List.of(), handler).addListener(f -> {
            if (f.isSuccess()) {
                result.trySuccess(handler);
            } else {
                result.tryFailure(f.cause());
            }
        });
        return result;
    }

    /** Closes idle HTTP/2 connections of the calling event loop (see {@link UpstreamPools#sweep}). */
    public static void sweepHttp2(long nowNanos, long maxIdleNanos, java.util.function.Predicate<Member> keep) {
        Http2UpstreamSessions.current().sweep(nowNanos, maxIdleNanos, keep);
    }

    /** Closes the HTTP/2 connections of the calling event loop (shutdown). */
    public static void closeHttp2() {
        Http2UpstreamSessions.current().closeAll();
    }

    /**
     * Connects to a member with the given handlers, the first of them nearest the socket (under TLS if the pool
     * re-encrypts, except {@code beforeTls}, which see the raw bytes); the future completes when the connection is
     * ready for data (after the TLS handshake).
     */
    public ChannelFuture connect(EventLoop loop, PoolRuntime pool, Member member, List<ChannelHandler> beforeTls,
                                 ChannelHandler... handlers) {
        Channel[] made = new Channel[1];
        ChannelFuture connected = new Bootstrap()
                .group(loop)
                .channel(transport.socketChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, pool.connectTimeoutMillis())
                .option(ChannelOption.AUTO_READ, true)
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        made[0] = ch;
                        for (ChannelHandler h : beforeTls) {
                            ch.pipeline().addLast(h);
                        }
                        if (pool.tls().isPresent()) {
                            ch.pipeline().addLast("tls", tlsHandler(ch, pool.tls().get(), pool, member));
                        }
                        ch.pipeline().addLast(handlers);
                    }
                })
                .connect(pool.socketAddress(member));
        if (pool.tls().isEmpty()) {
            return connected;
        }
        ChannelPromise ready = connected.channel().newPromise();
        connected.addListener(f -> {
            if (!f.isSuccess()) {
                ready.tryFailure(f.cause());
                return;
            }
            SslHandler ssl = connected.channel().pipeline().get(SslHandler.class);
            ssl.handshakeFuture().addListener(h -> {
                if (h.isSuccess()) {
                    ready.trySuccess();
                } else {
                    ready.tryFailure(h.cause());
                    connected.channel().close();
                }
            });
        });
        return ready;
    }

    private static SslHandler tlsHandler(Channel ch, SslContext context, PoolRuntime pool, Member member) {
        String serverName = pool.config().tls().flatMap(t -> t.serverName()).orElse(member.address().host());
        SslHandler h = context.newHandler(ch.alloc(), serverName, member.address().port());
        h.setHandshakeTimeoutMillis(Math.max(1000, pool.connectTimeoutMillis()));
        return h;
    }

}
