package io.sluice.proxy.server;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.sluice.proxy.http.Http1ServerHandler;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.http2.Http2Frontend;
import java.nio.charset.StandardCharsets;

/**
 * Tells HTTP/2 with prior knowledge (RFC 9113 §3.3) from HTTP/1.1 on a cleartext listener by the first bytes a
 * client sends: the HTTP/2 connection preface, or anything else.
 *
 * <p>The decision is made at the first byte that differs from the preface, so an HTTP/1.1 request is never held
 * back (no method starts with {@code PRI *}). The HTTP/1.1 handler already sits behind this one, keeping the
 * request-head timeout running from the moment the connection opened; it is swapped for HTTP/2 when the preface
 * is complete.
 */
final class CleartextDetector extends ChannelInboundHandlerAdapter {

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private final ListenerContext listener;
    private ByteBuf buffered;

    CleartextDetector(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf in)) {
            ctx.fireChannelRead(msg);
            return;
        }
        buffered = buffered == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), buffered, in);
        int n = Math.min(buffered.readableBytes(), PREFACE.length);
        int start = buffered.readerIndex();
        for (int i = 0; i < n; i++) {
            if (buffered.getByte(start + i) != PREFACE[i]) {
                handOver(ctx);
                return;
            }
        }
        if (n == PREFACE.length) {
            ctx.pipeline().remove(Http1ServerHandler.class);
            Http2Frontend.configure(ctx.pipeline(), listener);
            handOver(ctx);
        }
    }

    private void handOver(ChannelHandlerContext ctx) {
        ByteBuf b = buffered;
        buffered = null;
        ctx.pipeline().remove(this);
        ctx.fireChannelRead(b);
        ctx.fireChannelReadComplete();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        if (buffered != null) {
            buffered.release();
            buffered = null;
        }
    }
}
