package io.sluice.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * TLS termination on a listener: a default certificate, more certificates chosen by SNI, ALPN, and optional client
 * certificate verification.
 *
 * @param certificate the default certificate chain (PEM)
 * @param privateKey  its private key (PEM, PKCS#8 or PKCS#1)
 * @param sni         certificates for specific server names
 * @param clientCa    CA certificates (PEM) that client certificates must chain to; enables mTLS
 * @param clientAuth  whether a client certificate is required when {@code clientCa} is set
 * @param alpn        protocols offered, in order of preference
 * @param minVersion  the lowest TLS version accepted
 * @param ciphers     cipher suites (OpenSSL names); empty means the modern default list
 */
public record ListenerTlsConfig(Path certificate, Path privateKey, List<SniCertificate> sni,
                                Optional<Path> clientCa, ClientAuth clientAuth, List<String> alpn,
                                String minVersion, List<String> ciphers) {

    /** Whether client certificates are asked for. */
    public enum ClientAuth { NONE, OPTIONAL, REQUIRE }

    /**
     * A certificate for some server names.
     *
     * @param serverName the name (or {@code *.example.com}) the client asks for
     * @param certificate the chain (PEM)
     * @param privateKey  its key (PEM)
     */
    public record SniCertificate(String serverName, Path certificate, Path privateKey) {
    }

    /** Copies the lists. */
    public ListenerTlsConfig {
        sni = List.copyOf(sni);
        alpn = List.copyOf(alpn);
        ciphers = List.copyOf(ciphers);
    }

    static ListenerTlsConfig read(ConfigNode n, Path baseDir) {
        Path cert = baseDir.resolve(n.requiredString("certificate"));
        Path key = baseDir.resolve(n.requiredString("private_key"));
        List<SniCertificate> sni = n.list("sni", s -> new SniCertificate(s.requiredString("server_name"),
                baseDir.resolve(s.requiredString("certificate")), baseDir.resolve(s.requiredString("private_key"))));
        Optional<Path> clientCa = n.optString("client_ca").map(baseDir::resolve);
        ClientAuth auth = n.choice("client_auth", clientCa.isPresent() ? ClientAuth.REQUIRE : ClientAuth.NONE,
                Map.of("none", ClientAuth.NONE, "optional", ClientAuth.OPTIONAL, "require", ClientAuth.REQUIRE));
        if (auth != ClientAuth.NONE && clientCa.isEmpty()) {
            n.error("client_auth", "client_auth '" + auth.name().toLowerCase() + "' needs client_ca");
        }
        List<String> alpn = n.has("alpn") ? n.stringList("alpn") : List.of("h2", "http/1.1");
        for (String p : alpn) {
            if (!p.equals("h2") && !p.equals("http/1.1")) {
                n.error("alpn", "'" + p + "' is not a supported protocol (h2, http/1.1)");
            }
        }
        String minVersion = n.choice("min_version", "TLSv1.2", Map.of("TLSv1.2", "TLSv1.2", "TLSv1.3", "TLSv1.3"));
        List<String> ciphers = n.stringList("ciphers");
        return new ListenerTlsConfig(cert, key, sni, clientCa, auth, alpn, minVersion, ciphers);
    }
}
