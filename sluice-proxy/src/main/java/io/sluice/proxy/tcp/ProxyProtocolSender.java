package io.sluice.proxy.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.sluice.config.PoolConfig;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Sends the PROXY protocol header (HAProxy's specification, v1 text or v2 binary) as the very first bytes of a
 * connection to an endpoint, before TLS if the pool re-encrypts, so the endpoint learns the original client and
 * the address it connected to. Removes itself once sent.
 */
final class ProxyProtocolSender extends ChannelInboundHandlerAdapter {

    /** The v2 signature: {@code \r\n\r\n\0\r\nQUIT\n}. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
        0x0A};

    private final PoolConfig.ProxyProtocolVersion version;
    private final InetSocketAddress source;
    private final InetSocketAddress destination;

    ProxyProtocolSender(PoolConfig.ProxyProtocolVersion version, InetSocketAddress source,
                        InetSocketAddress destination) {
        this.version = version;
        this.source = source;
        this.destination = destination;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        ByteBuf header = ctx.alloc().buffer(64);
        if (version == PoolConfig.ProxyProtocolVersion.V1) {
            v1(header, source, destination);
        } else {
            v2(header, source, destination);
        }
        ctx.writeAndFlush(header);
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    /** Writes a v1 header: {@code PROXY TCP4 src dst sport dport CRLF}, or {@code PROXY UNKNOWN} for mixed families. */
    static void v1(ByteBuf out, InetSocketAddress src, InetSocketAddress dst) {
        boolean v4 = src.getAddress() instanceof Inet4Address;
        if (v4 != dst.getAddress() instanceof Inet4Address) {
            ByteBufUtil.writeAscii(out, "PROXY UNKNOWN\r\n");
            return;
        }
        String line = "PROXY " + (v4 ? "TCP4 " : "TCP6 ") + src.getAddress().getHostAddress() + " "
                + dst.getAddress().getHostAddress() + " " + src.getPort() + " " + dst.getPort() + "\r\n";
        out.writeBytes(line.getBytes(StandardCharsets.US_ASCII));
    }

    /** Writes a v2 header: signature, PROXY command, TCP over IPv4 or IPv6, addresses and ports. */
    static void v2(ByteBuf out, InetSocketAddress src, InetSocketAddress dst) {
        out.writeBytes(V2_SIGNATURE);
        out.writeByte(0x21);
        byte[] s = src.getAddress().getAddress();
        byte[] d = dst.getAddress().getAddress();
        if (s.length != d.length) {
            // Mixed families: LOCAL-style UNSPEC, the endpoint keeps the socket's addresses.
            out.writeByte(0x00);
            out.writeShort(0);
            return;
        }
        out.writeByte(s.length == 4 ? 0x11 : 0x21);
        out.writeShort(s.length * 2 + 4);
        out.writeBytes(s).writeBytes(d);
        out.writeShort(src.getPort()).writeShort(dst.getPort());
    }
}
