package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.sluice.endpoint.Member;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Writer;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamListener;
import io.sluice.resilience.UpstreamFailure;
import java.util.Optional;

/**
 * The response half of an {@link Exchange}: what the endpoint's connection reports, relayed to the client.
 *
 * <p>Interim (1xx) heads are forwarded; a {@code 101} answering a WebSocket upgrade turns the exchange into a tunnel;
 * a status listed in {@code retries.on} is discarded and the request tried elsewhere while the body can be sent
 * again; otherwise the head is forwarded, re-framed for the client, and the body streamed with backpressure (reading
 * from the endpoint stops while the client cannot take more). A failure before the response started is a failed
 * try (retried, or answered by Sluice); after it started, the client connection is cut.
 *
 * <p>Shares the exchange's state (same package, same event loop): the request side, the try and the ending stay in
 * the exchange; this class holds what only the response needs.
 */
final class ResponseRelay implements UpstreamListener {

    private final Exchange x;
    private long headNanos = -1;
    private boolean started;
    private ForwardedHeads.Framing framing;
    private boolean tunnel;
    private long bytesOut;
    private boolean clientNeedsFlush;

    ResponseRelay(Exchange exchange) {
        this.x = exchange;
    }

    /** True once the response head was forwarded to the client. */
    boolean started() {
        return started;
    }

    /** When the forwarded response head arrived, or -1. */
    long headNanos() {
        return headNanos;
    }

    /** Response body bytes forwarded. */
    long bytes() {
        return bytesOut;
    }

    @Override
    public void upstreamWritabilityChanged(boolean writable) {
        if (!x.body.ended() || tunnel) {
            x.client.setReading(writable);
        }
    }

    @Override
    public void responseHead(Http1Head head) {
        int s = head.status();
        if (s / 100 == 1) {
            if (s != 100 && s != 101) {
                ByteBuf interim = ForwardedHeads.response(x.client.ctx().alloc(), head, ForwardedHeads.Framing.NONE,
                        true, x.request.minorVersion(), x.requestId, Optional.empty());
                x.client.ctx().write(interim, x.client.ctx().voidPromise());
                clientNeedsFlush = true;
            } else if (s == 101) {
                if (x.upgradeRequested && head.connectionUpgrade() && head.get("upgrade").isPresent()) {
                    startTunnel(head);
                    return;
                }
                // Not the endpoint's fault, and no other endpoint would answer differently: no retry.
                head.release();
                x.abandonTry();
                x.respondError(502, "upstream sent an invalid response: 101 Switching Protocols without an Upgrade "
                        + "request", "upstream_protocol_error");
                return;
            }
            head.release();
            return;
        }
        x.status = s;
        headNanos = x.client.now();
        TryOutcomes.answered(x.pool, x.member, head, headNanos, x.listener.clock().currentTimeMillis());
        if (x.retries.retryAfter(s, x.admission.tries(), x.body.replayable())) {
            // Not forwarded: the rest of this response is dropped, the request goes to another endpoint.
            Member answered = x.member;
            TryOutcomes.failed(x.pool, answered, Optional.empty(), x.admission.tryStartNanos(), headNanos);
            UpstreamConnection c = x.upstream;
            x.upstream = null;
            ResponseDiscarder.takeOver(c, head, x.requestSentNanos >= 0, x.listener.clock());
            x.abandonTry();
            x.status = 0;
            headNanos = -1;
            x.retryElsewhere(answered);
            return;
        }
        x.body.releaseReplay();
        if (x.inference != null) {
            x.inference.responseHead(s, head.get("content-type"));
        }
        x.lastActivityNanos = headNanos;
        started = true;
        framing = ForwardedHeads.Framing.of(x.request, head);
        if (framing == ForwardedHeads.Framing.CLOSE || !x.body.ended() || x.listener.draining()) {
            x.clientKeepAlive = false;
        }
        ByteBuf out = ForwardedHeads.response(x.client.ctx().alloc(), head, framing, x.clientKeepAlive,
                x.request.minorVersion(), x.requestId, x.pool.affinity().setCookie(x.pick, x.member, x.listener.tls()));
        head.release();
        x.client.ctx().write(out, x.client.ctx().voidPromise());
        clientNeedsFlush = true;
    }

    /**
     * The endpoint accepted the protocol switch (WebSocket): forward its 101 and from now on copy bytes both ways
     * untouched, until either side closes.
     */
    private void startTunnel(Http1Head head) {
        x.status = 101;
        headNanos = x.client.now();
        TryOutcomes.answered(x.pool, x.member, head, headNanos, x.listener.clock().currentTimeMillis());
        x.body.releaseReplay();
        x.lastActivityNanos = headNanos;
        started = true;
        tunnel = true;
        framing = ForwardedHeads.Framing.CLOSE;
        x.clientKeepAlive = false;
        x.upstream.markNotReusable();
        x.upstream.startTunnel();
        ByteBuf out = ForwardedHeads.switchingProtocols(x.client.ctx().alloc(), head, x.requestId);
        head.release();
        x.client.ctx().writeAndFlush(out, x.client.ctx().voidPromise());
        x.client.startTunnel();
    }

    @Override
    public void responseBody(ByteBuf content) {
        if (x.finished() || !started) {
            content.release();
            return;
        }
        int n = content.readableBytes();
        bytesOut += n;
        x.lastActivityNanos = x.client.now();
        if (x.inference != null) {
            x.inference.responseBody(content);
        }
        ChannelHandlerContext c = x.client.ctx();
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            if (n == 0) {
                content.release();
                return;
            }
            c.write(Http1Writer.chunkHeader(c.alloc(), n), c.voidPromise());
            c.write(content, c.voidPromise());
            c.write(Http1Writer.crlf(), c.voidPromise());
        } else {
            c.write(content, c.voidPromise());
        }
        clientNeedsFlush = true;
        if (!c.channel().isWritable()) {
            x.upstream.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void responseEnd(ByteBuf trailers) {
        if (x.finished()) {
            trailers.release();
            return;
        }
        ChannelHandlerContext c = x.client.ctx();
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            c.write(trailers.isReadable() ? Http1Writer.lastChunk(c.alloc(), trailers) : Http1Writer.lastChunk(),
                    c.voidPromise());
        }
        trailers.release();
        c.flush();
        clientNeedsFlush = false;
        x.succeed();
    }

    @Override
    public void upstreamReadComplete() {
        if (clientNeedsFlush) {
            clientNeedsFlush = false;
            x.client.ctx().flush();
        }
    }

    @Override
    public void upstreamProtocolError(String reason) {
        if (x.finished()) {
            return;
        }
        if (started) {
            x.upstream.markNotReusable();
            TryOutcomes.failed(x.pool, x.member, Optional.of(UpstreamFailure.RESET_AFTER_RESPONSE),
                    x.admission.tryStartNanos(), x.client.now());
            x.error = "upstream broke the response: " + reason;
            x.fail();
            x.client.abort();
        } else {
            x.tryFailed(UpstreamFailure.RESET_BEFORE_RESPONSE, 502, "upstream sent an invalid response: " + reason,
                    "upstream_protocol_error");
        }
    }

    @Override
    public void upstreamClosed() {
        if (x.finished()) {
            return;
        }
        if (started) {
            if (framing == ForwardedHeads.Framing.CLOSE) {
                // A close-delimited body ended normally.
                x.client.ctx().flush();
                x.succeed();
                return;
            }
            x.error = "upstream closed during the response";
            TryOutcomes.failed(x.pool, x.member, Optional.of(UpstreamFailure.RESET_AFTER_RESPONSE),
                    x.admission.tryStartNanos(), x.client.now());
            x.fail();
            x.client.abort();
            return;
        }
        x.tryFailed(UpstreamFailure.RESET_BEFORE_RESPONSE, 502, "upstream reset before response", "upstream_reset");
    }

    /** Ends a started gRPC response with a status in its trailers (HTTP/2 clients see a proper call end). */
    void endGrpcResponse(int code, String message) {
        x.error = message;
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            ByteBuf trailers = x.client.ctx().alloc().buffer(64);
            Http1Writer.field(trailers, "grpc-status", Integer.toString(code));
            Http1Writer.field(trailers, "grpc-message", message);
            x.client.ctx().write(Http1Writer.lastChunk(x.client.ctx().alloc(), trailers), x.client.ctx().voidPromise());
            trailers.release();
            x.client.ctx().flush();
            x.clientKeepAlive = false;
            x.fail();
        } else {
            x.fail();
            x.client.abort();
        }
    }
}
