package io.sluice.proxy.tcp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.sluice.config.PoolConfig;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Sends the PROXY protocol header (HAProxy's specification, v1 text or v2 binary) as the very first bytes of a
 * connection to an endpoint, before TLS if the pool re-encrypts, so the endpoint learns the original client and
 * the address it connected to.
 */
final class ProxyProtocolSender extends ChannelOutboundHandlerAdapter {

    /** The v2 signature: {@code \r\n\r\n\0\r\nQUIT\n}. */
    private static final byte[] V2_SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54,
        0x0A};

    private final PoolConfig.ProxyProtocolVersion version;
    private final InetSocketAddress source;
    private final InetSocketAddress destination;
    private boolean sent;

    ProxyProtocolSender(PoolConfig.ProxyProtocolVersion version, InetSocketAddress source,
                        InetSocketAddress destination) {
        this.version = version;
        this.source = source;
        this.destination = destination;
    }

    /** Sends the header as soon as the connection is up, even if nothing else is written yet. */
    @Override
    public void connect(ChannelHandlerContext ctx, SocketAddress remote, SocketAddress local,
                        ChannelPromise promise) {
        promise.addListener(f -> {
            if (f.isSuccess()) {
                sendHeader(ctx);
                ctx.flush();
            }
        });
        ctx.connect(remote, local, promise);
    }

    /**
     * Puts the header in front of the first bytes written, whoever writes them first (bytes held for the endpoint,
     * or a TLS ClientHello, since this handler sits between TLS and the socket).
     */
    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        sendHeader(ctx);
        ctx.write(msg, promise);
    }

    private void sendHeader(ChannelHandlerContext ctx) {
        if (sent) {
            return;
        }
        sent = true;
        ByteBuf header = ctx.alloc().buffer(64);
        if (version == PoolConfig.ProxyProtocolVersion.V1) {
            v1(header, source, destination);
        } else {
            v2(header, source, destination);
        }
        ctx.write(header, ctx.voidPromise());
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
