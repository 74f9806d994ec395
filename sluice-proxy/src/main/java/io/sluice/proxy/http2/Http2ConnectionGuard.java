package io.sluice.proxy.http2;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2PingFrame;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.net.Drainable;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one HTTP/2 client connection: counts the protections that closed it, closes it when it has been idle
 * with no stream open, checks liveness with PING, and ends it gracefully (GOAWAY, open streams finish) on drain.
 *
 * <p>The floods themselves are stopped inside Netty's codec, which Sluice configures: rapid reset by
 * {@code decoderEnforceMaxRstFramesPerWindow} (the fix for CVE-2023-44487), CONTINUATION floods by the header list
 * limit and {@code decoderEnforceMaxSmallContinuationFrames} (CVE-2024-27316 class), empty-frame floods by
 * {@code decoderEnforceMaxConsecutiveEmptyDataFrames}; each ends the connection with GOAWAY and reaches this handler
 * as a connection error, which is counted here by its kind.
 */
final class Http2ConnectionGuard extends ChannelDuplexHandler implements Drainable {

    private static final Logger LOG = LoggerFactory.getLogger(Http2ConnectionGuard.class);

    private final ListenerContext listener;
    private final Http2Connection connection;
    private final long pingTimeoutNanos;
    private ChannelHandlerContext ctx;
    private long lastReadNanos = System.nanoTime();
    private boolean pingOutstanding;
    private boolean counted;

    Http2ConnectionGuard(ListenerContext listener, Http2Connection connection) {
        this.listener = listener;
        this.connection = connection;
        this.pingTimeoutNanos = listener.config().http2().pingTimeout().toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        if (msg instanceof Http2PingFrame ping && ping.ack()) {
            pingOutstanding = false;
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof IdleStateEvent idle) {
            if (idle.state() == IdleState.ALL_IDLE && connection.numActiveStreams() == 0) {
                count("idle_timeout");
                ctx.close();
            } else if (idle.state() == IdleState.READER_IDLE && !pingOutstanding) {
                sendPing();
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    private void sendPing() {
        pingOutstanding = true;
        long sentAt = System.nanoTime();
        ctx.writeAndFlush(new DefaultHttp2PingFrame(sentAt));
        ctx.executor().schedule(() -> {
            if (pingOutstanding && lastReadNanos < sentAt && ctx.channel().isActive()) {
                count("ping_timeout");
                ctx.channel().close();
            }
        }, pingTimeoutNanos, TimeUnit.NANOSECONDS);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception e) {
            count(reason(e));
            LOG.debug("HTTP/2 connection error on {}: {}", listener.name(), e.getMessage());
        } else {
            LOG.debug("HTTP/2 connection on {} failed", listener.name(), cause);
            ctx.close();
        }
    }

    private void count(String reason) {
        if (!counted) {
            // One connection is counted once, for the first protection that ended it.
            counted = true;
            listener.metrics().http2Protection(listener.name(), reason);
        }
    }

    /** The protection an HTTP/2 connection error stands for. */
    static String reason(Http2Exception e) {
        String m = String.valueOf(e.getMessage()).toLowerCase(Locale.ROOT);
        if (e instanceof Http2Exception.HeaderListSizeException || m.contains("header size")
                || m.contains("header list") || m.contains("headers size")) {
            return "header_list_too_large";
        }
        if (e.error() == Http2Error.ENHANCE_YOUR_CALM) {
            if (m.contains("rst")) {
                return "rapid_reset";
            }
            if (m.contains("continuation")) {
                return "continuation_flood";
            }
            if (m.contains("empty")) {
                return "empty_frames";
            }
            return "enhance_your_calm";
        }
        if (m.contains("continuation")) {
            return "continuation_flood";
        }
        return "protocol_error";
    }

    @Override
    public void drain() {
        // Http2ConnectionHandler turns close into GOAWAY and waits for the open streams.
        ctx.channel().close();
    }
}
