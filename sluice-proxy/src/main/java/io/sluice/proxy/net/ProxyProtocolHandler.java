package io.sluice.proxy.net;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.Cidr;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the PROXY protocol header (v1 text or v2 binary, HAProxy's specification) that a trusted load balancer
 * in front of Sluice sends, and makes the client address it declares the connection's client address.
 *
 * <p>Only peers inside {@code proxy_protocol.accept_from} are trusted, and from them the header is required, as
 * with HAProxy's {@code accept-proxy} and NGINX's {@code proxy_protocol}: a trusted peer that sends none is cut off
 * (otherwise anyone able to reach the port through that peer could forge a header). Other peers are served as they
 * are, their bytes never parsed as a header. Netty's {@link HAProxyMessageDecoder} sits in front of this handler;
 * this one holds back {@code channelActive} from the rest of the pipeline until the header has been read, so the
 * protocol handlers behind see the declared addresses from their first event. A {@code LOCAL} header (the balancer's
 * own health check) keeps the socket's addresses.
 */
public final class ProxyProtocolHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyProtocolHandler.class);

    private final long timeoutMillis;
    private ScheduledFuture<?> timeout;

    private ProxyProtocolHandler(long timeoutMillis) {
        this.timeoutMillis = timeoutMillis;
    }

    /** True if the peer address is inside one of the trusted networks. */
    public static boolean trusted(SocketAddress peer, List<Cidr> networks) {
        if (!(peer instanceof InetSocketAddress isa) || isa.getAddress() == null) {
            return false;
        }
        byte[] address = isa.getAddress().getAddress();
        for (Cidr c : networks) {
            if (c.contains(address)) {
                return true;
            }
        }
        return false;
    }

    /** Adds the decoder and this handler to the front of a pipeline. */
    public static void install(io.netty.channel.ChannelPipeline pipeline, long timeoutMillis) {
        pipeline.addLast("proxy-protocol-decoder", new HAProxyMessageDecoder());
        pipeline.addLast("proxy-protocol", new ProxyProtocolHandler(timeoutMillis));
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // Held back until the header is read.
        timeout = ctx.executor().schedule(() -> {
            LOG.debug("no PROXY protocol header from {} in time", ctx.channel().remoteAddress());
            ctx.close();
        }, timeoutMillis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HAProxyMessage m)) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (m.command() == HAProxyCommand.PROXY && m.sourceAddress() != null) {
                ctx.channel().attr(ClientAddress.SOURCE).set(address(m.sourceAddress(), m.sourcePort()));
                if (m.destinationAddress() != null) {
                    ctx.channel().attr(ClientAddress.DESTINATION).set(address(m.destinationAddress(),
                            m.destinationPort()));
                }
            }
        } catch (UnknownHostException e) {
            LOG.debug("bad address in PROXY header from {}", ctx.channel().remoteAddress(), e);
            m.release();
            ctx.close();
            return;
        }
        m.release();
        if (timeout != null) {
            timeout.cancel(false);
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.debug("bad PROXY protocol header from {}: {}", ctx.channel().remoteAddress(), cause.getMessage());
        ctx.close();
    }

    private static InetSocketAddress address(String ip, int port) throws UnknownHostException {
        // An IP literal from the decoder: no DNS lookup happens.
        return new InetSocketAddress(InetAddress.getByName(ip), port);
    }
}
