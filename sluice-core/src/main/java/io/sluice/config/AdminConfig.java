package io.sluice.config;

import io.sluice.endpoint.Address;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The admin listener: {@code admin: { address: 127.0.0.1:9901, token_file: null }}.
 *
 * <p>It serves health, readiness, Prometheus metrics, the pools API, reloads and the dashboard. On a non-loopback
 * address a bearer token is required, so the admin API is never open to a network by accident.
 *
 * @param enabled   false with {@code admin: { enabled: false }}
 * @param address   where it listens (port 0: any free port)
 * @param tokenFile a file holding the bearer token every request must present
 */
public record AdminConfig(boolean enabled, Address address, Optional<Path> tokenFile) {

    /** The default: loopback port 9901, no token. */
    public static final AdminConfig DEFAULT = new AdminConfig(true, new Address("127.0.0.1", 9901),
            Optional.empty());

    static AdminConfig read(ConfigNode n, Path baseDir) {
        boolean enabled = n.bool("enabled", true);
        Address address = n.address("address", false, 0).orElse(DEFAULT.address());
        Optional<Path> token = n.optString("token_file").map(baseDir::resolve);
        if (enabled && !address.isLoopback() && token.isEmpty()) {
            n.error("address", "'" + address + "' is not a loopback address, so token_file is required "
                    + "(the admin API can drain endpoints and reload the config)");
        }
        return new AdminConfig(enabled, address, token);
    }
}
