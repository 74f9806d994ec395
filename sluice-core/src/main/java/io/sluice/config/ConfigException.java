package io.sluice.config;

import java.util.List;
import java.util.stream.Collectors;

/** A configuration was refused; it lists every error found, each with its path. */
public final class ConfigException extends Exception {

    private static final long serialVersionUID = 1L;

    private final transient List<ConfigError> errors;

    /** Creates the exception; there is at least one error. */
    public ConfigException(String source, List<ConfigError> errors) {
        super(describe(source, errors));
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one error");
        }
        this.errors = List.copyOf(errors);
    }

    /** Every error, in the order found. */
    public List<ConfigError> errors() {
        return errors;
    }

    private static String describe(String source, List<ConfigError> errors) {
        return source + ": " + errors.size() + (errors.size() == 1 ? " error" : " errors") + "\n"
                + errors.stream().map(e -> "  " + e).collect(Collectors.joining("\n"));
    }
}
