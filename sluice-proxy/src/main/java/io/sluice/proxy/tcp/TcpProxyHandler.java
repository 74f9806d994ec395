package io.sluice.proxy.tcp;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import io.sluice.balance.HashKeys;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Member;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.net.ClientAddress;
import io.sluice.proxy.net.Drainable;
import io.sluice.proxy.runtime.PoolAffinity;
import io.sluice.proxy.runtime.PoolRuntime;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection through a tcp listener: picks a pool (by SNI when the listener routes by server name) and an
 * endpoint with the pool's policy, connects on the same event loop, and relays bytes both ways until either side
 * closes (Netty's proxy example, with {@code autoRead} as backpressure in each direction).
 *
 * <p>Each tunnel counts as one active request of its endpoint, so least-connections and friends balance tunnels as
 * they balance requests, and {@code client-ip} hashing works as on HTTP pools. A failed connect is retried on
 * another endpoint up to the pool's {@code retries.attempts} (no byte was sent yet). With {@code proxy_protocol}
 * on the pool, the endpoint's connection starts with a PROXY header naming the client. Bytes the client sends
 * before the endpoint is connected (the ClientHello of a passed-through TLS connection, say) are held and sent
 * first. The tunnel closes after the pool's idle timeout without traffic either way.
 */
public final class TcpProxyHandler extends ChannelInboundHandlerAdapter implements Drainable, PoolAffinity.Request {

    private static final Logger LOG = LoggerFactory.getLogger(TcpProxyHandler.class);

    private final ListenerContext listener;
    private final PickContext pick = new PickContext();
    private final ArrayDeque<Object> pending = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    private PoolRuntime pool;
    private Member member;
    private Channel upstream;
    private int attempts;
    private boolean started;
    private boolean closed;
    private long clientIpKey;

    /** Creates the handler of one connection. */
    public TcpProxyHandler(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        Optional<TcpRoutes> routes = listener.runtime().tcpRoutes(listener.name());
        if (routes.isEmpty() || !routes.get().bySni()) {
            start(Optional.empty());
        }
        ctx.fireChannelActive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SniPassthroughHandler.ServerName name) {
            start(name.name());
        } else if (evt instanceof SslHandshakeCompletionEvent done) {
            listener.metrics().tlsHandshake(listener.name(), done.isSuccess());
        } else if (evt instanceof IdleStateEvent) {
            close();
        } else {
            ctx.fireUserEventTriggered(evt);
        }
    }

    private void start(Optional<String> serverName) {
        if (started) {
            return;
        }
        started = true;
        Optional<PoolRuntime> routed = listener.runtime().tcpRoutes(listener.name()).flatMap(r -> r.route(serverName));
        if (routed.isEmpty()) {
            LOG.debug("listener {}: no pool for server name {}", listener.name(), serverName.orElse("(none)"));
            listener.metrics().tcpConnection(listener.name(), "", false);
            close();
            return;
        }
        pool = routed.get();
        InetSocketAddress client = ClientAddress.source(ctx.channel()).orElse(null);
        clientIpKey = client != null && client.getAddress() != null ? HashKeys.ofClientIp(client.getAddress()) : 0;
        pool.affinity().prepare(pick, this);
        long idle = pool.idleTimeoutNanos();
        ctx.pipeline().addBefore(ctx.name(), "tcp-idle", new IdleStateHandler(0, 0, idle, TimeUnit.NANOSECONDS));
        ctx.channel().config().setAutoRead(false);
        connect();
    }

    private void connect() {
        try {
            member = pool.pool().select(pick);
        } catch (NoEndpointException e) {
            LOG.debug("listener {}: {} in pool {}", listener.name(), e.reason().message(), pool.name());
            listener.metrics().tcpConnection(listener.name(), pool.name(), false);
            close();
            return;
        }
        attempts++;
        Member target = member;
        target.load().requestStarted();
        List<ChannelHandler> first = pool.config().proxyProtocol() == PoolConfig.ProxyProtocolVersion.OFF ? List.of()
                : List.of(new ProxyProtocolSender(pool.config().proxyProtocol(),
                ClientAddress.source(ctx.channel()).orElseThrow(),
                ClientAddress.destination(ctx.channel()).orElseThrow()));
        UpstreamSide side = new UpstreamSide(target);
        ChannelFuture f = listener.connector().connect(ctx.channel().eventLoop(), pool, target, first, side);
        f.addListener(done -> {
            if (done.isSuccess()) {
                if (closed) {
                    f.channel().close();
                    return;
                }
                upstream = f.channel();
                listener.metrics().tcpConnection(listener.name(), pool.name(), true);
                while (!pending.isEmpty()) {
                    upstream.write(pending.poll());
                }
                upstream.flush();
                ctx.channel().config().setAutoRead(true);
            } else {
                side.release();
                target.load().failure();
                if (closed) {
                    return;
                }
                if (attempts < pool.maxAttempts()) {
                    pick.exclude(target);
                    listener.metrics().retry(pool.name());
                    connect();
                } else {
                    LOG.debug("listener {}: cannot connect to {}: {}", listener.name(), target,
                            done.cause().getMessage());
                    listener.metrics().tcpConnection(listener.name(), pool.name(), false);
                    close();
                }
            }
        });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (closed) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (upstream == null) {
            pending.add(msg);
            return;
        }
        upstream.write(msg, upstream.voidPromise());
        if (!upstream.isWritable()) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (upstream != null) {
            upstream.config().setAutoRead(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        while (!pending.isEmpty()) {
            ReferenceCountUtil.release(pending.poll());
        }
        if (upstream != null) {
            upstream.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("tcp connection on {} failed", listener.name(), cause);
        close();
    }

    private void close() {
        closed = true;
        ctx.close();
        if (upstream != null) {
            upstream.close();
        }
    }

    /** TCP tunnels cannot be ended gracefully by Sluice: they run until either side closes or the drain ends. */
    @Override
    public void drain() {
    }

    @Override
    public Optional<String> header(String lowerName) {
        return Optional.empty();
    }

    @Override
    public String rawQuery() {
        return "";
    }

    @Override
    public long clientIpKey() {
        return clientIpKey;
    }

    /** The endpoint side of the tunnel. */
    private final class UpstreamSide extends ChannelInboundHandlerAdapter {
        private final Member target;
        private boolean released;

        UpstreamSide(Member target) {
            this.target = target;
        }

        /** Ends the tunnel's active-request count on the endpoint, once. */
        void release() {
            if (!released) {
                released = true;
                target.load().requestEnded();
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext c) {
            target.load().connectionOpened();
            c.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext c, Object msg) {
            Channel client = ctx.channel();
            client.write(msg, client.voidPromise());
            if (!client.isWritable()) {
                c.channel().config().setAutoRead(false);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext c) {
            ctx.channel().flush();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext c) {
            ctx.channel().config().setAutoRead(c.channel().isWritable());
        }

        @Override
        public void channelInactive(ChannelHandlerContext c) {
            target.load().connectionClosed();
            release();
            ctx.channel().writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
            LOG.debug("upstream {} of tcp listener {} failed", target, listener.name(), cause);
            c.close();
        }
    }
}
