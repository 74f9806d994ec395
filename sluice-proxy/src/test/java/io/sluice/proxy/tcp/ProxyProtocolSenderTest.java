package io.sluice.proxy.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The PROXY headers Sluice sends, read back by Netty's decoder (an independent implementation of the spec). */
class ProxyProtocolSenderTest {

    private static HAProxyMessage decode(ByteBuf header) {
        EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
        ch.writeInbound(header);
        HAProxyMessage m = ch.readInbound();
        ch.finishAndReleaseAll();
        return m;
    }

    @Test
    void v1ForIpv4() {
        ByteBuf out = Unpooled.buffer();
        ProxyProtocolSender.v1(out, new InetSocketAddress("203.0.113.7", 40000),
                new InetSocketAddress("198.51.100.1", 443));
        assertThat(out.toString(StandardCharsets.US_ASCII))
                .isEqualTo("PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n");
        HAProxyMessage m = decode(out);
        assertThat(m.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V1);
        assertThat(m.sourceAddress()).isEqualTo("203.0.113.7");
        assertThat(m.destinationPort()).isEqualTo(443);
        m.release();
    }

    @Test
    void v2ForIpv4AndIpv6() {
        ByteBuf out = Unpooled.buffer();
        ProxyProtocolSender.v2(out, new InetSocketAddress("10.1.2.3", 1234), new InetSocketAddress("10.9.9.9", 80));
        HAProxyMessage m = decode(out);
        assertThat(m.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
        assertThat(m.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
        assertThat(m.sourceAddress()).isEqualTo("10.1.2.3");
        assertThat(m.sourcePort()).isEqualTo(1234);
        assertThat(m.destinationAddress()).isEqualTo("10.9.9.9");
        assertThat(m.destinationPort()).isEqualTo(80);
        m.release();
        ByteBuf six = Unpooled.buffer();
        ProxyProtocolSender.v2(six, new InetSocketAddress("2001:db8::1", 5), new InetSocketAddress("2001:db8::2", 6));
        HAProxyMessage m6 = decode(six);
        assertThat(m6.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
        assertThat(m6.sourcePort()).isEqualTo(5);
        m6.release();
    }
}
