package io.sluice.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * TLS from Sluice to a pool's endpoints (re-encryption).
 *
 * @param verify      check the endpoint's certificate chain and name (strongly recommended)
 * @param ca          CA certificates (PEM) to trust; default: the JDK's trust store
 * @param serverName  SNI and the name to verify (default: the endpoint host)
 * @param certificate client certificate (PEM) for upstream mTLS
 * @param privateKey  its key
 */
public record UpstreamTlsConfig(boolean verify, Optional<Path> ca, Optional<String> serverName,
                                Optional<Path> certificate, Optional<Path> privateKey) {

    static UpstreamTlsConfig read(ConfigNode n, Path baseDir) {
        boolean verify = n.bool("verify", true);
        Optional<Path> ca = n.optString("ca").map(baseDir::resolve);
        Optional<String> serverName = n.optString("server_name");
        Optional<Path> cert = n.optString("certificate").map(baseDir::resolve);
        Optional<Path> key = n.optString("private_key").map(baseDir::resolve);
        if (cert.isPresent() != key.isPresent()) {
            n.error(cert.isPresent() ? "private_key" : "certificate",
                    "a client certificate needs both certificate and private_key");
        }
        return new UpstreamTlsConfig(verify, ca, serverName, cert, key);
    }
}
