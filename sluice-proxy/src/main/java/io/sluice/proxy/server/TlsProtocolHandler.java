package io.sluice.proxy.server;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.sluice.proxy.http.Http1ServerHandler;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.http2.Http2Frontend;

/**
 * After the TLS handshake of an HTTP listener: serves HTTP/2 if the client chose {@code h2} by ALPN, else
 * HTTP/1.1 (also for clients that offered no ALPN at all), and counts the handshake.
 */
final class TlsProtocolHandler extends ApplicationProtocolNegotiationHandler {

    private final ListenerContext listener;

    TlsProtocolHandler(ListenerContext listener) {
        super(ApplicationProtocolNames.HTTP_1_1);
        this.listener = listener;
    }

    @Override
    protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
        listener.metrics().tlsHandshake(listener.name(), true);
        if (ApplicationProtocolNames.HTTP_2.equals(protocol) && listener.config().http2().enabled()) {
            Http2Frontend.configure(ctx.pipeline(), listener);
        } else {
            ctx.pipeline().addLast(new Http1ServerHandler(listener, true));
        }
    }

    @Override
    protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
        listener.metrics().tlsHandshake(listener.name(), false);
        ctx.close();
    }
}
