package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.balance.HashKeys;
import io.sluice.config.ListenerConfig;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Parser;
import io.sluice.proxy.net.ClientAddress;
import io.sluice.proxy.net.Drainable;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection speaking HTTP/1.1: it parses requests and runs them one at a time as {@link Exchange}s.
 *
 * <p>Requests are handled in order; bytes of a pipelined next request wait, unparsed, in this handler's buffer until
 * the current response is complete (and reading stops if they pile up), so responses can never be reordered. The
 * request body is not read until an endpoint is connected, which is also when a {@code 100 Continue} is sent.
 *
 * <p>Timeouts use one timer per connection that is re-armed lazily: each event only moves a deadline field, and the
 * timer, when it fires, checks which deadline passed. The connection's deadlines are: the request head must
 * arrive within {@code request_header} of its first byte (or of the connection opening), a keep-alive connection may
 * idle for {@code idle} between requests, and the exchange's own upstream deadlines.
 */
public final class Http1ServerHandler extends ChannelInboundHandlerAdapter implements Http1Parser.Listener,
        Drainable {

    private static final Logger LOG = LoggerFactory.getLogger(Http1ServerHandler.class);

    private final ListenerContext listener;
    private ChannelHandlerContext ctx;
    private Http1Parser parser;
    private ByteBuf cumulation;
    private Exchange exchange;
    private String clientIp = "";
    private String clientAddress = "";
    private long clientIpKey;
    private boolean closeAfterResponse;
    private boolean closed;
    private boolean parsing;
    private boolean activated;
    private final boolean alreadyOpen;
    private Http1Head switchRequest;
    // Deadlines, in clock nanos; Long.MAX_VALUE when unset.
    private long headDeadline = Long.MAX_VALUE;
    private long idleDeadline = Long.MAX_VALUE;
    private ScheduledFuture<?> timer;
    private long timerAt = Long.MAX_VALUE;

    /** Creates the handler of one connection; it starts serving when the connection becomes active. */
    public Http1ServerHandler(ListenerContext listener) {
        this(listener, false);
    }

    /**
     * Creates the handler of one connection.
     *
     * @param alreadyOpen true when added to a connection whose {@code channelActive} has passed (after TLS and
     *                    ALPN chose HTTP/1.1), so it starts serving at once
     */
    public Http1ServerHandler(ListenerContext listener, boolean alreadyOpen) {
        this.listener = listener;
        this.alreadyOpen = alreadyOpen;
    }

    // ------------------------------------------------------------------ accessors for the exchange

    ChannelHandlerContext ctx() {
        return ctx;
    }

    ListenerContext listener() {
        return listener;
    }

    String clientIp() {
        return clientIp;
    }

    /** The client address's hash key for {@code hash_on: client-ip}, computed once per connection. */
    long clientIpKey() {
        return clientIpKey;
    }

    String clientAddress() {
        return clientAddress;
    }

    /** True once the connection closed. */
    boolean closed() {
        return closed;
    }

    // ------------------------------------------------------------------ channel events

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        ListenerConfig.Limits limits = listener.config().limits();
        this.parser = new Http1Parser(true, this, ctx.alloc(), limits.maxRequestLineBytes(), limits.maxHeaderBytes(),
                limits.maxHeaders());
        if (alreadyOpen) {
            activate();
        }
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        // Replaced by HTTP/2 (prior knowledge or h2c upgrade).
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        activate();
        ctx.fireChannelActive();
    }

    private void activate() {
        if (activated) {
            return;
        }
        activated = true;
        InetSocketAddress remote = ClientAddress.source(ctx.channel()).orElse(null);
        if (remote != null) {
            clientIp = remote.getAddress() != null ? remote.getAddress().getHostAddress() : remote.getHostString();
            clientAddress = remote.getAddress() instanceof java.net.Inet6Address ? "[" + clientIp + "]:"
                    + remote.getPort() : clientIp + ":" + remote.getPort();
            clientIpKey = remote.getAddress() != null ? HashKeys.ofClientIp(remote.getAddress())
                    : HashKeys.of(clientIp);
        }
        headDeadline = now() + listener.config().timeouts().requestHeader().toNanos();
        armTimer(headDeadline);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (closed) {
            in.release();
            return;
        }
        if (exchange == null && parser.idle() && headDeadline == Long.MAX_VALUE) {
            // First byte of a new request head: the head must be complete within request_header.
            headDeadline = now() + listener.config().timeouts().requestHeader().toNanos();
            idleDeadline = Long.MAX_VALUE;
            armTimer(headDeadline);
        }
        cumulation = cumulation == null ? in
                : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
        parseBuffered();
        if (cumulation != null && parser.paused()
                && cumulation.readableBytes() > listener.config().limits().maxHeaderBytes()) {
            // A pipelining client is far ahead of us: stop reading until we catch up.
            ctx.channel().config().setAutoRead(false);
        }
    }

    /**
     * Parses what is buffered. Parser callbacks may finish an exchange synchronously (an error answered at once) and
     * so ask for the next request to be parsed; this loop does that instead of re-entering the parser.
     */
    private void parseBuffered() {
        if (parsing) {
            return;
        }
        parsing = true;
        try {
            while (cumulation != null && cumulation.isReadable() && !closed && switchRequest == null) {
                parser.parse(cumulation);
                if (exchange == null && parser.paused() && !closeAfterResponse && !parser.failed()
                        && switchRequest == null) {
                    parser.resume();
                    continue;
                }
                break;
            }
        } finally {
            parsing = false;
        }
        if (switchRequest != null) {
            switchProtocols();
            return;
        }
        if (cumulation != null && !cumulation.isReadable()) {
            cumulation.release();
            cumulation = null;
        }
    }

    private void switchProtocols() {
        Http1Head head = switchRequest;
        switchRequest = null;
        ByteBuf replay = head.buffer();
        if (cumulation != null) {
            replay = io.netty.buffer.Unpooled.wrappedBuffer(replay, cumulation);
            cumulation = null;
        }
        ChannelHandlerContext c = ctx;
        closed = true;
        listener.protocolSwitch().get().switchProtocols(c, replay);
        c.pipeline().remove(this);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        Exchange e = exchange;
        if (e != null) {
            e.clientReadComplete();
        }
        ctx.fireChannelReadComplete();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        Exchange e = exchange;
        if (e != null) {
            e.clientWritabilityChanged(ctx.channel().isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closed = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        Exchange e = exchange;
        exchange = null;
        if (e != null) {
            e.clientClosed();
        }
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("client connection {} failed", clientAddress, cause);
        ctx.close();
    }

    // ------------------------------------------------------------------ parser events

    @Override
    public void onHead(Http1Head head) {
        headDeadline = Long.MAX_VALUE;
        if (closeAfterResponse || listener.draining() && exchange != null) {
            head.release();
            return;
        }
        if (exchange == null && head.connectionUpgrade() && !head.chunked() && head.contentLength() <= 0
                && listener.protocolSwitch().isPresent() && listener.protocolSwitch().get().wants(head)) {
            // Switched once the parser returns (it still reads the buffer now).
            switchRequest = head;
            parser.pause();
            return;
        }
        exchange = new Exchange(this, head);
        exchange.start();
    }

    @Override
    public void onBody(ByteBuf content) {
        Exchange e = exchange;
        if (e == null) {
            content.release();
            return;
        }
        e.requestBody(content);
    }

    @Override
    public void onEnd(ByteBuf trailers) {
        Exchange e = exchange;
        if (switchRequest != null) {
            trailers.release();
            return;
        }
        if (e == null) {
            trailers.release();
            return;
        }
        e.requestEnd(trailers);
    }

    @Override
    public void onError(int status, String reason) {
        listener.metrics().proxyError(listener.name(), "bad_request");
        Exchange e = exchange;
        if (e != null) {
            e.requestBroken(status, reason);
            return;
        }
        ErrorResponses.sendStandalone(this, status, reason);
    }

    // ------------------------------------------------------------------ called by the exchange

    /**
     * Stops parsing the request body (until an endpoint is connected), and reading it if there is one. Without a
     * body, reading goes on (the socket is not re-armed twice per request): bytes of a pipelined next request wait
     * in the buffer, and reading stops if they pile up.
     */
    void holdRequestBody(boolean hasBody) {
        parser.pause();
        if (hasBody) {
            ctx.channel().config().setAutoRead(false);
        }
    }

    /** Resumes reading and parsing the request body. */
    void releaseRequestBody() {
        parser.resume();
        ctx.channel().config().setAutoRead(true);
        parseBuffered();
    }

    /** The response switched protocols: every further byte from the client is tunnel data for the endpoint. */
    void startTunnel() {
        parser.upgrade();
        parser.resume();
        ctx.channel().config().setAutoRead(true);
        parseBuffered();
        Exchange e = exchange;
        if (e != null) {
            e.clientReadComplete();
        }
    }

    /** Flow control toward the endpoint: stop or resume reading the client. */
    void setReading(boolean read) {
        ctx.channel().config().setAutoRead(read);
    }

    /** The exchange sent its last byte; the next request may start. */
    void exchangeFinished(Exchange finished, boolean keepAlive) {
        if (exchange != finished) {
            return;
        }
        exchange = null;
        if (closed) {
            return;
        }
        if (!keepAlive || closeAfterResponse || listener.draining() || parser.failed()) {
            closeAfterResponse = true;
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        idleDeadline = now() + listener.config().timeouts().idle().toNanos();
        armTimer(idleDeadline);
        parser.resume();
        ctx.channel().config().setAutoRead(true);
        parseBuffered();
        if (exchange == null && cumulation != null && cumulation.isReadable() && headDeadline == Long.MAX_VALUE) {
            headDeadline = now() + listener.config().timeouts().requestHeader().toNanos();
            armTimer(headDeadline);
        }
    }

    /** Marks the connection to close after the current response. */
    void closeAfterResponse() {
        closeAfterResponse = true;
    }

    /** Closes the connection at once (a response cannot be completed). */
    void abort() {
        closeAfterResponse = true;
        ctx.close();
    }

    /** For shutdown: close now if idle, else after the current response. */
    @Override
    public void drain() {
        if (exchange == null) {
            ctx.close();
        } else {
            closeAfterResponse = true;
        }
    }

    long now() {
        return listener.clock().nanoTime();
    }

    // ------------------------------------------------------------------ timer

    /** Makes sure the timer fires no later than the deadline. */
    void armTimer(long deadline) {
        if (deadline >= timerAt && timer != null) {
            return;
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerAt = deadline;
        long delay = Math.max(0, deadline - now());
        timer = ctx.executor().schedule(this::onTimer, delay, TimeUnit.NANOSECONDS);
    }

    private void onTimer() {
        timer = null;
        timerAt = Long.MAX_VALUE;
        if (closed) {
            return;
        }
        long now = now();
        long next = Long.MAX_VALUE;
        Exchange e = exchange;
        if (e != null) {
            next = e.checkDeadlines(now);
        } else if (now >= headDeadline) {
            listener.metrics().proxyError(listener.name(), "request_timeout");
            if (parser.idle() && (cumulation == null || !cumulation.isReadable())) {
                ctx.close();
            } else {
                ErrorResponses.sendStandalone(this, 408, "request head not received in time");
            }
            return;
        } else if (now >= idleDeadline) {
            ctx.close();
            return;
        } else {
            next = Math.min(headDeadline, idleDeadline);
        }
        if (next != Long.MAX_VALUE && !closed) {
            armTimer(next);
        }
    }
}
