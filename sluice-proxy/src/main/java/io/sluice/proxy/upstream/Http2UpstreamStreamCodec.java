package io.sluice.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.PromiseNotifier;
import io.sluice.proxy.http1.HeadTranslator;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Parser;
import io.sluice.proxy.http1.Http1Writer;

/**
 * Carries one request to an HTTP/2 endpoint on a stream of a multiplexed connection, so that the exchange writes
 * and reads HTTP/1.1 as it does for every other endpoint: the request it writes is parsed and sent as HEADERS, DATA
 * and trailers; the response's frames come back as an HTTP/1.1 response (chunked when the endpoint gave no length,
 * so trailers such as gRPC's {@code grpc-status} survive) for the {@link UpstreamConnection} behind this codec.
 * The mirror image of the client-side stream codec of the HTTP/2 frontend.
 */
final class Http2UpstreamStreamCodec extends ChannelDuplexHandler implements Http1Parser.Listener {

    private final boolean tls;
    private ChannelHandlerContext ctx;
    private Http1Parser requestParser;
    private ByteBuf cumulation;
    private Http2Headers pendingHeaders;
    private ChannelFuture lastWrite;
    private boolean headRequest;
    private boolean responseChunked;
    private boolean responseStarted;

    Http2UpstreamStreamCodec(boolean tls) {
        this.tls = tls;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.requestParser = new Http1Parser(true, this, ctx.alloc(), 1 << 20, 1 << 24, 10_000);
    }

    // ------------------------------------------------------------------ Sluice → endpoint

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (!(msg instanceof ByteBuf buf)) {
            ctx.write(msg, promise);
            return;
        }
        lastWrite = null;
        cumulation = cumulation == null ? buf
                : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, buf);
        requestParser.parse(cumulation);
        if (cumulation != null && !cumulation.isReadable()) {
            cumulation.release();
            cumulation = null;
        }
        if (pendingHeaders != null) {
            send(false);
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
    public void onHead(Http1Head head) {
        headRequest = head.method().equals("HEAD");
        pendingHeaders = HeadTranslator.upstreamRequest(head, tls);
        head.release();
    }

    @Override
    public void onBody(ByteBuf content) {
        if (pendingHeaders != null) {
            send(false);
        }
        lastWrite = ctx.write(new DefaultHttp2DataFrame(content, false));
    }

    @Override
    public void onEnd(ByteBuf trailers) {
        boolean hasTrailers = trailers.isReadable();
        if (pendingHeaders != null) {
            send(!hasTrailers);
        } else if (!hasTrailers) {
            lastWrite = ctx.write(new DefaultHttp2DataFrame(Unpooled.EMPTY_BUFFER, true));
        }
        if (hasTrailers) {
            lastWrite = ctx.write(new DefaultHttp2HeadersFrame(HeadTranslator.trailers(trailers), true));
        }
        trailers.release();
    }

    @Override
    public void onError(int status, String reason) {
        // The exchange wrote something that is not a valid request: it cannot be sent.
        ctx.close();
    }

    private void send(boolean endStream) {
        Http2Headers h = pendingHeaders;
        pendingHeaders = null;
        lastWrite = ctx.write(new DefaultHttp2HeadersFrame(h, endStream));
    }

    // ------------------------------------------------------------------ endpoint → Sluice

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof Http2HeadersFrame f) {
            CharSequence status = f.headers().status();
            if (!responseStarted && status != null) {
                boolean interim = status.length() == 3 && status.charAt(0) == '1';
                ByteBuf out = ctx.alloc().buffer(256);
                boolean chunked = HeadTranslator.upstreamResponse(out, f.headers(), f.isEndStream() || interim,
                        headRequest);
                if (!interim) {
                    responseStarted = true;
                    responseChunked = chunked;
                }
                ctx.fireChannelRead(out);
            } else if (responseStarted && responseChunked) {
                ByteBuf out = ctx.alloc().buffer(64);
                out.writeByte('0').writeByte('\r').writeByte('\n');
                HeadTranslator.writeTrailerLines(out, f.headers());
                out.writeByte('\r').writeByte('\n');
                ctx.fireChannelRead(out);
            }
            return;
        }
        if (msg instanceof Http2DataFrame d) {
            ByteBuf content = d.content();
            int n = content.readableBytes();
            if (n > 0 && responseChunked) {
                ctx.fireChannelRead(Http1Writer.chunkHeader(ctx.alloc(), n));
                ctx.fireChannelRead(content);
                ctx.fireChannelRead(Http1Writer.crlf());
            } else if (n > 0) {
                ctx.fireChannelRead(content);
            } else {
                content.release();
            }
            if (d.isEndStream() && responseChunked) {
                ctx.fireChannelRead(Http1Writer.lastChunk());
            }
            return;
        }
        if (msg instanceof Http2ResetFrame) {
            ctx.close();
            return;
        }
        ReferenceCountUtil.release(msg);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (cumulation != null) {
            cumulation.release();
            cumulation = null;
        }
    }
}
