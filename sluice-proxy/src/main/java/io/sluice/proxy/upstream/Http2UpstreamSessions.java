package io.sluice.proxy.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.sluice.endpoint.Member;
import io.sluice.proxy.runtime.PoolRuntime;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import javax.net.ssl.SSLHandshakeException;

/**
 * The multiplexed HTTP/2 connections of one event loop to endpoints of {@code h2c} and {@code h2} pools.
 *
 * <p>Like {@link UpstreamPools}, each event loop keeps its own connections, so a request and its stream share a
 * thread. A request gets a new stream on the least busy connection to its endpoint that has room under the
 * endpoint's {@code SETTINGS_MAX_CONCURRENT_STREAMS} and has not been told GOAWAY; requests that arrive while the
 * only connection is still being set up wait for it rather than opening more (Envoy's HTTP/2 connection pool). A
 * connection without streams is closed after the pool's {@code pool_idle} time.
 */
final class Http2UpstreamSessions {

    private static final FastThreadLocal<Http2UpstreamSessions> CURRENT = new FastThreadLocal<>() {
        @Override
        protected Http2UpstreamSessions initialValue() {
            return new Http2UpstreamSessions();
        }
    };

    /** Streams opened per connection before another connection is preferred, whatever the endpoint allows. */
    private static final int MAX_STREAMS_PER_CONNECTION = 1000;

    private final Map<Member, List<Session>> sessions = new IdentityHashMap<>();

    static Http2UpstreamSessions current() {
        return CURRENT.get();
    }

    /** One HTTP/2 connection to an endpoint. */
    private final class Session extends ChannelInboundHandlerAdapter {
        private final Member member;
        private final Promise<Channel> ready;
        private Channel channel;
        private Http2Connection connection;
        private int streams;
        private boolean goingAway;
        private long idleSinceNanos = System.nanoTime();

        Session(Member member, EventLoop loop) {
            this.member = member;
            this.ready = loop.newPromise();
        }

        boolean hasRoom() {
            if (goingAway || ready.isDone() && (!ready.isSuccess() || !channel.isActive())) {
                return false;
            }
            if (!ready.isDone()) {
                return streams < 100;
            }
            int max = connection.local().maxActiveStreams();
            return streams < Math.min(max, MAX_STREAMS_PER_CONNECTION);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            member.load().connectionOpened();
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof Http2GoAwayFrame) {
                goingAway = true;
            }
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            member.load().connectionClosed();
            forget(this);
            ready.tryFailure(new java.nio.channels.ClosedChannelException());
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ready.tryFailure(cause);
            ctx.close();
        }
    }

    /** Opens a stream to the member for one request; the future carries its connection handler. */
    Future<UpstreamConnection> openStream(UpstreamConnector connector, EventLoop loop, PoolRuntime pool,
                                          Member member) {
        Promise<UpstreamConnection> result = loop.newPromise();
        Session session = pick(member);
        if (session == null) {
            session = connect(connector, loop, pool, member);
        }
        Session s = session;
        s.streams++;
        s.ready.addListener(done -> {
            if (!done.isSuccess()) {
                s.streams--;
                result.tryFailure(done.cause());
                return;
            }
            UpstreamConnection handler = new UpstreamConnection(member, false);
            new Http2StreamChannelBootstrap(s.channel)
                    .handler(new ChannelInitializer<Http2StreamChannel>() {
                        @Override
                        protected void initChannel(Http2StreamChannel ch) {
                            ch.pipeline().addLast(new Http2UpstreamStreamCodec(pool.tls().isPresent()), handler);
                        }
                    })
                    .open().addListener(opened -> {
                        if (!opened.isSuccess()) {
                            s.streams--;
                            result.tryFailure(opened.cause());
                            return;
                        }
                        Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
                        stream.closeFuture().addListener(c -> {
                            s.streams--;
                            s.idleSinceNanos = System.nanoTime();
                        });
                        result.trySuccess(handler);
                    });
        });
        return result;
    }

    private Session pick(Member member) {
        List<Session> list = sessions.get(member);
        if (list == null) {
            return null;
        }
        Session best = null;
        for (Session s : list) {
            if (s.hasRoom() && (best == null || s.streams < best.streams)) {
                best = s;
            }
        }
        return best;
    }

    private Session connect(UpstreamConnector connector, EventLoop loop, PoolRuntime pool, Member member) {
        Session s = new Session(member, loop);
        sessions.computeIfAbsent(member, m -> new ArrayList<>()).add(s);
        Http2FrameCodec codec = Http2FrameCodecBuilder.forClient()
                .initialSettings(new Http2Settings().pushEnabled(false).initialWindowSize(1 << 20))
                .validateHeaders(true).build();
        s.connection = codec.connection();
        ChannelFuture f = connector.connect(loop, pool, member, List.of(), codec,
                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()), s);
        s.channel = f.channel();
        f.addListener(done -> {
            if (!done.isSuccess()) {
                s.ready.tryFailure(done.cause());
                return;
            }
            SslHandler ssl = s.channel.pipeline().get(SslHandler.class);
            if (ssl != null && !ApplicationProtocolNames.HTTP_2.equals(ssl.applicationProtocol())) {
                s.ready.tryFailure(new SSLHandshakeException("endpoint " + member.address()
                        + " did not agree to h2 by ALPN"));
                s.channel.close();
                return;
            }
            s.ready.trySuccess(s.channel);
        });
        return s;
    }

    private void forget(Session s) {
        List<Session> list = sessions.get(s.member);
        if (list != null) {
            list.remove(s);
            if (list.isEmpty()) {
                sessions.remove(s.member);
            }
        }
    }

    /** Closes connections without streams idle longer than {@code maxIdleNanos}, or to members not kept. */
    void sweep(long nowNanos, long maxIdleNanos, Predicate<Member> keep) {
        List<Session> doomed = new ArrayList<>();
        for (Map.Entry<Member, List<Session>> e : sessions.entrySet()) {
            for (Session s : e.getValue()) {
                if (s.streams == 0 && s.ready.isDone()
                        && (!keep.test(e.getKey()) || nowNanos - s.idleSinceNanos >= maxIdleNanos)) {
                    doomed.add(s);
                }
            }
        }
        for (Session s : doomed) {
            forget(s);
            s.channel.close();
        }
    }

    /** Closes every connection (shutdown). */
    void closeAll() {
        List<Session> all = new ArrayList<>();
        sessions.values().forEach(all::addAll);
        sessions.clear();
        all.forEach(s -> s.channel.close());
    }
}
