package io.sluice.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.sluice.endpoint.Member;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Parser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to an endpoint, reused across requests: it parses responses and hands them to the exchange that
 * leased it.
 *
 * <p>It lives on the event loop of the client connection that opened it (as in Netty's proxy example), so a proxied
 * request never crosses threads. Between requests it waits in its loop's {@link UpstreamPools}; if the endpoint
 * closes it or sends anything while idle, it is dropped.
 */
public final class UpstreamConnection extends ChannelInboundHandlerAdapter implements Http1Parser.Listener {

    private static final Logger LOG = LoggerFactory.getLogger(UpstreamConnection.class);
    private static final int MAX_RESPONSE_LINE = 16 * 1024;
    private static final int MAX_RESPONSE_HEAD = 256 * 1024;
    private static final int MAX_RESPONSE_FIELDS = 500;

    private final Member member;
    private final boolean ownConnection;
    private Channel channel;
    private Http1Parser parser;
    private ByteBuf cumulation;
    private UpstreamListener listener;
    private boolean responseInProgress;
    private boolean reusable;
    private boolean closed;
    private long idleSinceNanos;
    private int requestsServed;

    UpstreamConnection(Member member) {
        this(member, true);
    }

    /**
     * Creates the handler.
     *
     * @param ownConnection true for a connection of its own (counted, reusable); false for one stream of a
     *                      multiplexed HTTP/2 connection (used once; the connection is counted by its session)
     */
    UpstreamConnection(Member member, boolean ownConnection) {
        this.member = member;
        this.ownConnection = ownConnection;
        this.reusable = ownConnection;
    }

    /** The endpoint. */
    public Member member() {
        return member;
    }

    /** The channel. */
    public Channel channel() {
        return channel;
    }

    /** True if open and not marked for closing. */
    public boolean usable() {
        return !closed && reusable && channel.isActive();
    }

    /** Requests this connection has carried, the current one included. */
    public int requestsServed() {
        return requestsServed;
    }

    /**
     * Leases the connection to an exchange for one request.
     *
     * @param exchange     receives the response
     * @param headRequest  true if the request is HEAD (its response has no body)
     */
    public void lease(UpstreamListener exchange, boolean headRequest) {
        this.listener = exchange;
        this.responseInProgress = true;
        this.requestsServed++;
        parser.expectNoBody(headRequest);
        if (!channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
    }

    /**
     * Gives the rest of the current response to another listener, within the same lease (a response that is
     * being discarded because the request is retried elsewhere).
     */
    public void handOver(UpstreamListener next) {
        this.listener = next;
    }

    /** Ends the lease; returns true if the connection may carry another request. */
    public boolean unlease(long nowNanos) {
        this.listener = null;
        idleSinceNanos = nowNanos;
        boolean ok = usable() && !responseInProgress && parser.idle() && cumulationEmpty();
        if (!ok) {
            close();
        }
        return ok;
    }

    private boolean cumulationEmpty() {
        return cumulation == null || !cumulation.isReadable();
    }

    /** The endpoint switched protocols (101): every further byte is tunnel data, passed on as body. */
    public void startTunnel() {
        reusable = false;
        parser.upgrade();
    }

    /** Never reuse this connection (the response broke framing rules, or the request was cut short). */
    public void markNotReusable() {
        reusable = false;
    }

    /** When the connection was last returned to the pool. */
    long idleSinceNanos() {
        return idleSinceNanos;
    }

    /** Closes the connection. */
    public void close() {
        if (!closed) {
            closed = true;
            channel.close();
        }
    }

    // ------------------------------------------------------------------ channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.channel = ctx.channel();
        this.parser = new Http1Parser(false, this, ctx.alloc(), MAX_RESPONSE_LINE, MAX_RESPONSE_HEAD,
                MAX_RESPONSE_FIELDS);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (ownConnection) {
            member.load().connectionOpened();
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        if (listener == null) {
            // Bytes on an idle connection: the endpoint is confused (or closing); never reuse it.
            in.release();
            reusable = false;
            close();
            return;
        }
        cumulation = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation,
                in);
        parser.parse(cumulation);
        if (cumulation != null && !cumulation.isReadable()) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        if (l != null) {
            l.upstreamReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        UpstreamListener l = listener;
        if (l != null) {
            l.upstreamWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        if (ownConnection) {
            member.load().connectionClosed();
            UpstreamPools.current().remove(this);
        }
        if (listener != null && responseInProgress) {
            parser.inputClosed();
            UpstreamListener l = listener;
            if (l != null && responseInProgress) {
                l.upstreamClosed();
            }
        }
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("upstream {} failed", member, cause);
        reusable = false;
        close();
    }

    // ------------------------------------------------------------------ parser events

    @Override
    public void onHead(Http1Head head) {
        if (!head.keepAlive()) {
            reusable = false;
        }
        listener.responseHead(head);
    }

    @Override
    public void onBody(ByteBuf content) {
        UpstreamListener l = listener;
        if (l == null) {
            content.release();
            return;
        }
        l.responseBody(content);
    }

    @Override
    public void onEnd(ByteBuf trailers) {
        responseInProgress = false;
        UpstreamListener l = listener;
        if (l == null) {
            trailers.release();
            return;
        }
        if (parser.readsUntilClose()) {
            reusable = false;
        }
        l.responseEnd(trailers);
    }

    @Override
    public void onError(int status, String reason) {
        reusable = false;
        UpstreamListener l = listener;
        if (l != null) {
            l.upstreamProtocolError(reason);
        }
        close();
    }
}
