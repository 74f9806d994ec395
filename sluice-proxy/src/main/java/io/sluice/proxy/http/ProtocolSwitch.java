package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.sluice.proxy.http1.Http1Head;

/**
 * Takes over a cleartext HTTP/1.1 connection whose request asks to switch to another protocol Sluice serves on
 * the same port ({@code Upgrade: h2c}, RFC 7540 §3.2).
 */
public interface ProtocolSwitch {

    /** True if the request asks for the switch this makes. */
    boolean wants(Http1Head request);

    /**
     * Switches the connection: installs the new protocol's handlers after {@code ctx} and replays the request's
     * bytes, and any that followed, into them. The caller removes itself afterwards.
     */
    void switchProtocols(ChannelHandlerContext ctx, ByteBuf replay);
}
