package io.sluice.proxy.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslClientHelloHandler;
import io.sluice.config.Cidr;
import io.sluice.config.ListenerConfig;
import io.sluice.proxy.http.Http1ServerHandler;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.net.ProxyProtocolHandler;
import io.sluice.proxy.tcp.SniPassthroughHandler;
import io.sluice.proxy.tcp.TcpProxyHandler;
import io.sluice.proxy.tls.ServerCertificates;
import java.util.List;
import java.util.Optional;

/**
 * Builds the pipeline of every accepted connection of one listener, from the outside in: the PROXY protocol
 * header (from trusted networks), then TLS with SNI (or, on a TLS-passthrough TCP listener, a peek at the
 * ClientHello), then the protocol: HTTP/1.1 or HTTP/2 (by ALPN, or by the prior-knowledge preface on cleartext),
 * or a TCP tunnel.
 */
final class ListenerInitializer extends ChannelInitializer<Channel> {

    private final ListenerContext listener;
    private final Optional<ServerCertificates> certificates;
    private final List<Cidr> proxyProtocolFrom;

    ListenerInitializer(ListenerContext listener, Optional<ServerCertificates> certificates) {
        this.listener = listener;
        this.certificates = certificates;
        this.proxyProtocolFrom = listener.config().proxyProtocol()
                .map(p -> p.acceptFrom().stream().map(Cidr::parse).toList()).orElse(List.of());
    }

    @Override
    protected void initChannel(Channel ch) {
        if (!listener.register(ch)) {
            return;
        }
        listener.metrics().accepted(listener.name());
        ListenerConfig config = listener.config();
        long handshakeMillis = config.timeouts().requestHeader().toMillis();
        ChannelPipeline p = ch.pipeline();
        if (ProxyProtocolHandler.trusted(ch.remoteAddress(), proxyProtocolFrom)) {
            ProxyProtocolHandler.install(p, handshakeMillis);
        }
        if (config.protocol() == ListenerConfig.Protocol.TCP) {
            if (certificates.isPresent()) {
                p.addLast(new SniHandler(certificates.get(), SslClientHelloHandler.MAX_CLIENT_HELLO_LENGTH,
                        handshakeMillis));
            } else if (!config.sniRoutes().isEmpty()) {
                p.addLast(new SniPassthroughHandler(handshakeMillis));
            }
            p.addLast(new TcpProxyHandler(listener));
        } else if (certificates.isPresent()) {
            p.addLast(new SniHandler(certificates.get(), SslClientHelloHandler.MAX_CLIENT_HELLO_LENGTH,
                    handshakeMillis));
            p.addLast(new TlsProtocolHandler(listener));
        } else if (config.http2().enabled()) {
            p.addLast(new CleartextDetector(listener));
            p.addLast(new Http1ServerHandler(listener));
        } else {
            p.addLast(new Http1ServerHandler(listener));
        }
    }
}
