package io.sluice.proxy.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.http.ProtocolSwitch;
import io.sluice.proxy.http1.Http1Head;
import java.nio.charset.StandardCharsets;

/**
 * The HTTP/1.1 {@code Upgrade: h2c} path to HTTP/2 on cleartext listeners (RFC 7540 §3.2; RFC 9113 deprecates it,
 * but clients such as the JDK's HttpClient and curl {@code --http2} still use it on {@code http://} URLs).
 *
 * <p>The upgrade request is replayed into Netty's {@link HttpServerUpgradeHandler}, which answers
 * {@code 101 Switching Protocols}, applies the client's {@code HTTP2-Settings}, installs the same HTTP/2 handlers
 * as prior knowledge and delivers the request as stream 1. Only body-less requests are upgraded (a request with a
 * body is served over HTTP/1.1, which the RFC allows), so nothing needs aggregating.
 */
final class H2cUpgrade implements ProtocolSwitch {

    private static final byte[] HTTP2_SETTINGS = "http2-settings".getBytes(StandardCharsets.US_ASCII);

    private final ListenerContext listener;

    H2cUpgrade(ListenerContext listener) {
        this.listener = listener;
    }

    @Override
    public boolean wants(Http1Head request) {
        if (request.indexOf(HTTP2_SETTINGS) < 0) {
            return false;
        }
        String upgrade = request.get("upgrade").orElse("");
        for (String token : upgrade.split(",")) {
            if (token.strip().equalsIgnoreCase("h2c")) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void switchProtocols(ChannelHandlerContext ctx, ByteBuf replay) {
        ChannelPipeline p = ctx.pipeline();
        HttpServerCodec source = new HttpServerCodec();
        Http2Frontend.Handlers h2 = Http2Frontend.handlers(listener);
        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(source, protocol ->
                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                        ? new Http2ServerUpgradeCodec(h2.codec(), h2.idle(), h2.streams(), h2.guard()) : null);
        p.addAfter(ctx.name(), "h2-flushes", h2.flushes());
        p.addAfter("h2-flushes", "h2c-source", source);
        p.addAfter("h2c-source", "h2c-upgrade", upgrade);
        p.addAfter("h2c-upgrade", "h2c-refused", new Refused());
        ctx.fireChannelRead(replay);
        ctx.fireChannelReadComplete();
    }

    /** Answers a request whose upgrade Netty refused (bad {@code HTTP2-Settings}), and closes. */
    private static final class Refused extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof HttpObject)) {
                ctx.fireChannelRead(msg);
                return;
            }
            ReferenceCountUtil.release(msg);
            DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                    HttpResponseStatus.BAD_REQUEST, Unpooled.copiedBuffer("invalid h2c upgrade\n",
                    StandardCharsets.US_ASCII));
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes())
                    .set(HttpHeaderNames.CONNECTION, "close");
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }
    }
}
