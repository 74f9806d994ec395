package io.sluice.proxy.tls;

import io.netty.handler.codec.http2.Http2SecurityUtil;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.SupportedCipherSuiteFilter;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.sluice.config.ListenerTlsConfig;
import io.sluice.config.PoolConfig;
import io.sluice.config.UpstreamTlsConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * Builds Netty {@link SslContext}s from Sluice's TLS settings, for listeners (termination) and pools
 * (re-encryption).
 *
 * <p>OpenSSL (BoringSSL from netty-tcnative) is used when its native library loads, the JDK's provider otherwise;
 * both speak TLS 1.3 and 1.2 with ALPN. The default cipher list is the HTTP/2 one of RFC 7540 appendix A as kept
 * by Netty's {@link Http2SecurityUtil} (ECDHE key exchange and AEAD ciphers only, as in Mozilla's "intermediate"
 * profile); TLS 1.3 suites are always enabled. TLS 1.0 and 1.1 are never offered.
 */
public final class TlsContexts {

    private TlsContexts() {
    }

    /** The provider in use: OpenSSL (BoringSSL) if available, else the JDK. */
    public static SslProvider provider() {
        return OpenSsl.isAvailable() && SslProvider.isAlpnSupported(SslProvider.OPENSSL) ? SslProvider.OPENSSL
                : SslProvider.JDK;
    }

    /**
     * A server context for one certificate of a listener.
     *
     * @throws SSLException if the certificate, key or CA cannot be loaded
     */
    public static SslContext server(ListenerTlsConfig tls, Path certificate, Path privateKey, boolean alpn)
            throws SSLException {
        SslContextBuilder b;
        try {
            b = SslContextBuilder.forServer(certificate.toFile(), privateKey.toFile());
        } catch (IllegalArgumentException e) {
            throw new SSLException("cannot load " + certificate + " / " + privateKey + ": " + e.getMessage(), e);
        }
        b.sslProvider(provider())
                .protocols(protocols(tls.minVersion()))
                .ciphers(tls.ciphers().isEmpty() ? Http2SecurityUtil.CIPHERS : tls.ciphers(),
                        SupportedCipherSuiteFilter.INSTANCE);
        if (tls.clientCa().isPresent()) {
            b.trustManager(tls.clientCa().get().toFile());
            b.clientAuth(switch (tls.clientAuth()) {
                case NONE -> ClientAuth.NONE;
                case OPTIONAL -> ClientAuth.OPTIONAL;
                case REQUIRE -> ClientAuth.REQUIRE;
            });
        }
        if (alpn && !tls.alpn().isEmpty()) {
            b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                    ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                    ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, tls.alpn()));
        }
        try {
            return b.build();
        } catch (SSLException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SSLException("cannot build a TLS context from " + certificate + ": " + e.getMessage(), e);
        }
    }

    /**
     * A client context for a pool's endpoints: trusts the pool's CA (or the JDK's trust store), verifies the
     * host name when {@code verify} is on, presents the client certificate if one is set, and offers {@code h2}
     * by ALPN for {@code protocol: h2}.
     *
     * @throws SSLException if a file cannot be loaded
     */
    public static SslContext client(UpstreamTlsConfig tls, PoolConfig.UpstreamProtocol protocol) throws SSLException {
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider())
                .protocols("TLSv1.3", "TLSv1.2")
                .ciphers(Http2SecurityUtil.CIPHERS, SupportedCipherSuiteFilter.INSTANCE);
        if (!tls.verify()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            tls.ca().ifPresent(ca -> b.trustManager(ca.toFile()));
            b.endpointIdentificationAlgorithm("HTTPS");
        }
        if (tls.certificate().isPresent() && tls.privateKey().isPresent()) {
            b.keyManager(tls.certificate().get().toFile(), tls.privateKey().get().toFile());
        }
        String alpn = protocol == PoolConfig.UpstreamProtocol.H2 ? ApplicationProtocolNames.HTTP_2
                : ApplicationProtocolNames.HTTP_1_1;
        b.applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, alpn));
        try {
            return b.build();
        } catch (SSLException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new SSLException("cannot build the upstream TLS context: " + e.getMessage(), e);
        }
    }

    private static String[] protocols(String minVersion) {
        List<String> p = new ArrayList<>(List.of("TLSv1.3"));
        if (minVersion.equals("TLSv1.2")) {
            p.add("TLSv1.2");
        }
        return p.toArray(new String[0]);
    }
}
