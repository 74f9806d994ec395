package io.sluice.proxy.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseNotifier;
import io.sluice.proxy.grpc.GrpcStatus;
import io.sluice.proxy.http1.HeadTranslator;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Parser;
import io.sluice.proxy.http1.Http1Writer;

/**
 * Carries one HTTP/2 stream of a client connection as an HTTP/1.1 exchange, so the same
 * {@link io.sluice.proxy.http.Http1ServerHandler} and exchange logic serve both protocols.
 *
 * <p>Inbound, the request's HEADERS become an HTTP/1.1 head ({@link HeadTranslator}), DATA frames become body
 * bytes (chunk-framed when the client gave no length) and trailers become a last chunk with trailer fields.
 * Outbound, the HTTP/1.1 response the handler writes is parsed again, incrementally, and sent as HEADERS, DATA and
 * trailing HEADERS; a response without a body leaves as one HEADERS frame with END_STREAM (so a gRPC error from
 * Sluice is a proper trailers-only response). Flow control needs nothing here: the stream channel stops reading
 * (and so stops granting window) whenever the exchange turns auto-read off, and its writability follows the peer's
 * window.
 *
 * <p>After a {@code 101} answering an extended CONNECT (RFC 8441), both directions become raw tunnel bytes.
 */
final class Http2ServerStreamCodec extends ChannelDuplexHandler implements Http1Parser.Listener {

    private ChannelHandlerContext ctx;
    private Http1Parser responseParser;
    private ByteBuf cumulation;
    // Request side.
    private boolean headReceived;
    private HeadTranslator.BodyFraming requestFraming = HeadTranslator.BodyFraming.NONE;
    private boolean requestEnded;
    private boolean upgradeRequested;
    private boolean grpc;
    private boolean expectContinue;
    // Response side.
    private Http2Headers pendingHeaders;
    private boolean headersSent;
    private boolean responseEnded;
    private boolean tunnel;
    private boolean closeAfterFlush;
    private ChannelFuture lastWrite;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.responseParser = new Http1Parser(false, this, ctx.alloc(), 16 * 1024, 1 << 20, 1000);
    }

    // ------------------------------------------------------------------ client → Sluice

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof Http2Exception h2) {
            // A stream error found by the codec (flow control, content-length, state): reset with its code. Netty
            // closes the stream channel right after, without a reset of its own.
            boolean headersAfterEnd = requestEnded && String.valueOf(h2.getMessage()).toLowerCase(
                    java.util.Locale.ROOT).contains("header");
            // Netty calls HEADERS after the client's END_STREAM a protocol error; RFC 9113 §5.1 says STREAM_CLOSED.
            reset(headersAfterEnd ? Http2Error.STREAM_CLOSED : h2.error());
            return;
        }
        ctx.fireExceptionCaught(cause);
    }

    private void reset(Http2Error error) {
        responseEnded = true;
        ctx.writeAndFlush(new DefaultHttp2ResetFrame(error));
        ctx.close();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame f) {
            if (headReceived && requestEnded) {
                // The client already ended its side: the stream is half-closed (remote), RFC 9113 §5.1.
                reset(Http2Error.STREAM_CLOSED);
                return;
            }
            if (headReceived && (!f.isEndStream() || hasPseudoHeader(f.headers()))) {
                // Trailers must end the stream and carry no pseudo-headers (RFC 9113 §8.1).
                reset(Http2Error.PROTOCOL_ERROR);
                return;
            }
            if (!headReceived && !wellFormedRequest(f.headers())) {
                reset(Http2Error.PROTOCOL_ERROR);
                return;
            }
            if (!headReceived) {
                headReceived = true;
                HeadTranslator.Request r = HeadTranslator.request(ctx.alloc(), f.headers(), f.isEndStream());
                requestFraming = r.framing();
                upgradeRequested = r.upgrade();
                grpc = r.grpc();
                expectContinue = r.expectContinue();
                responseParser.expectNoBody(r.headMethod());
                requestEnded = f.isEndStream();
                ctx.fireChannelRead(r.head());
            } else {
                // Trailers.
                if (requestFraming == HeadTranslator.BodyFraming.CHUNKED && !requestEnded) {
                    ByteBuf out = ctx.alloc().buffer(64);
                    out.writeByte('0').writeByte('\r').writeByte('\n');
                    HeadTranslator.writeTrailerLines(out, f.headers());
                    out.writeByte('\r').writeByte('\n');
                    ctx.fireChannelRead(out);
                }
                requestEnded = true;
            }
            return;
        }
        if (msg instanceof Http2DataFrame d) {
            ByteBuf content = d.content();
            int n = content.readableBytes();
            boolean chunked = requestFraming == HeadTranslator.BodyFraming.CHUNKED && !tunnel;
            if (n > 0 && !requestEnded) {
                if (chunked) {
                    ctx.fireChannelRead(Http1Writer.chunkHeader(ctx.alloc(), n));
                    ctx.fireChannelRead(content);
                    ctx.fireChannelRead(Http1Writer.crlf());
                } else {
                    ctx.fireChannelRead(content);
                }
            } else {
                content.release();
            }
            if (d.isEndStream() && !requestEnded) {
                requestEnded = true;
                if (chunked) {
                    ctx.fireChannelRead(Http1Writer.lastChunk());
                }
            }
            return;
        }
        if (msg instanceof Http2ResetFrame) {
            ctx.close();
            return;
        }
        ReferenceCountUtil.release(msg);
    }

    private static boolean hasPseudoHeader(Http2Headers h) {
        for (java.util.Map.Entry<CharSequence, CharSequence> e : h) {
            if (e.getKey().length() > 0 && e.getKey().charAt(0) == ':') {
                return true;
            }
        }
        return false;
    }

    /** The pseudo-headers a request needs (RFC 9113 §8.3.1; CONNECT without :protocol has only :authority). */
    private static boolean wellFormedRequest(Http2Headers h) {
        if (h.method() == null) {
            return false;
        }
        boolean connect = io.netty.util.AsciiString.contentEquals(h.method(), "CONNECT");
        if (connect && h.get(Http2Headers.PseudoHeaderName.PROTOCOL.value()) == null) {
            return h.authority() != null && h.path() == null && h.scheme() == null;
        }
        return h.scheme() != null && h.path() != null && h.path().length() > 0;
    }

    // ------------------------------------------------------------------ Sluice → client

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf buf)) {
            ctx.write(msg, promise);
            return;
        }
        lastWrite = null;
        if (tunnel) {
            if (buf.isReadable()) {
                lastWrite = ctx.write(new DefaultHttp2DataFrame(buf, false));
            } else {
                buf.release();
            }
        } else {
            cumulation = cumulation == null ? buf
                    : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, buf);
            responseParser.parse(cumulation);
            if (cumulation != null && !cumulation.isReadable()) {
                cumulation.release();
                cumulation = null;
            }
            if (pendingHeaders != null) {
                // A head with a body to come: send it now, so that the client sees it at once.
                sendHeaders(false);
            }
        }
        if (promise.isVoid()) {
            return;
        }
        if (lastWrite != null) {
            PromiseNotifier.cascade(lastWrite, promise);
        } else {
            promise.trySuccess();
        }
    }

    @Override
    public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        if (closeAfterFlush) {
            closeAfterFlush = false;
            ctx.close();
        }
    }

    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
        if (grpc && headersSent && !responseEnded) {
            // A gRPC response cut short: end it with a status the client understands instead of a bare reset.
            Http2Headers trailers = new DefaultHttp2Headers(false);
            GrpcStatus.addTo(trailers, GrpcStatus.UNAVAILABLE, "upstream connection lost during the response");
            responseEnded = true;
            ctx.writeAndFlush(new DefaultHttp2HeadersFrame(trailers, true));
        }
        ctx.close(promise);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }

    // ------------------------------------------------------------------ parsed response

    @Override
    public void onHead(Http1Head head) {
        try {
            int status = head.status();
            if (status == 101) {
                if (upgradeRequested) {
                    tunnel = true;
                    responseParser.upgrade();
                    pendingHeaders = HeadTranslator.response(head, true);
                    sendHeaders(false);
                }
                return;
            }
            if (status / 100 == 1) {
                if (status != 100 || expectContinue) {
                    Http2Headers interim = new DefaultHttp2Headers(false);
                    interim.status(Integer.toString(status));
                    lastWrite = ctx.write(new DefaultHttp2HeadersFrame(interim, false));
                }
                return;
            }
            pendingHeaders = HeadTranslator.response(head, false);
        } finally {
            head.release();
        }
    }

    @Override
    public void onBody(ByteBuf content) {
        if (pendingHeaders != null) {
            sendHeaders(false);
        }
        if (!content.isReadable()) {
            content.release();
            return;
        }
        lastWrite = ctx.write(new DefaultHttp2DataFrame(content, false));
    }

    @Override
    public void onEnd(ByteBuf trailers) {
        boolean hasTrailers = trailers.isReadable();
        if (pendingHeaders != null) {
            sendHeaders(!hasTrailers);
        } else if (!hasTrailers) {
            lastWrite = ctx.write(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
        }
        if (hasTrailers) {
            lastWrite = ctx.write(new DefaultHttp2HeadersFrame(HeadTranslator.trailers(trailers), true));
        }
        trailers.release();
        responseEnded = true;
        // The stream is complete once the response is; the exchange flushes right after its last write.
        closeAfterFlush = true;
    }

    @Override
    public void onError(int status, String reason) {
        ctx.close();
    }

    private void sendHeaders(boolean endStream) {
        Http2Headers h = pendingHeaders;
        pendingHeaders = null;
        headersSent = true;
        lastWrite = ctx.write(new DefaultHttp2HeadersFrame(h, endStream));
    }
}
