package io.sluice.proxy.tcp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;
import java.util.Optional;

/**
 * Reads the server name from a TLS ClientHello without terminating TLS (NGINX's {@code ssl_preread}, HAProxy's
 * {@code req.ssl_sni}), tells the {@link TcpProxyHandler} behind it, and steps aside: the ClientHello bytes it held
 * are passed on untouched, to be forwarded to the endpoint with everything that follows.
 *
 * <p>Netty's {@link AbstractSniHandler} does the parsing, including ClientHellos split over several records and
 * the limit on their size. A connection that does not start with a ClientHello gets an empty name.
 */
public final class SniPassthroughHandler extends AbstractSniHandler<String> {

    /** The server name a client asked for, or empty: fired as a user event to the handlers behind. */
    public record ServerName(Optional<String> name) {
    }

    /** Creates the handler; a client that sends no ClientHello within {@code timeoutMillis} is cut off. */
    public SniPassthroughHandler(long timeoutMillis) {
        super(timeoutMillis);
    }

    @Override
    protected Future<String> lookup(ChannelHandlerContext ctx, String hostname) {
        return ctx.executor().newSucceededFuture(hostname);
    }

    @Override
    protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<String> future) {
        ctx.fireUserEventTriggered(new ServerName(Optional.ofNullable(hostname)));
        ctx.pipeline().remove(this);
    }
}
