package io.sluice.config;

/**
 * One problem in a configuration: where it is and what is wrong with the value found there.
 *
 * @param path    the dotted path of the key, e.g. {@code pools[1].endpoints[0].address}
 * @param message what is wrong, naming the value, e.g. {@code port 70000 is out of range (1-65535)}
 */
public record ConfigError(String path, String message) {

    @Override
    public String toString() {
        return path.isEmpty() ? message : path + ": " + message;
    }
}
