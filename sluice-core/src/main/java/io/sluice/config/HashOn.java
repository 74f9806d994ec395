package io.sluice.config;

import java.util.Locale;
import java.util.Optional;

/**
 * What a hash policy hashes: {@code client-ip}, {@code header:NAME}, {@code cookie:NAME} or {@code query:NAME}.
 *
 * @param source the part of the request
 * @param name   the header, cookie or query parameter name (header names lower-cased); empty for client-ip
 */
public record HashOn(Source source, String name) {

    /** Parts of a request that can be hashed. */
    public enum Source { CLIENT_IP, HEADER, COOKIE, QUERY }

    /** The default: the client's IP address. */
    public static final HashOn CLIENT_IP = new HashOn(Source.CLIENT_IP, "");

    /**
     * Parses the configuration form.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static HashOn parse(String text) {
        if (text.equals("client-ip")) {
            return CLIENT_IP;
        }
        int colon = text.indexOf(':');
        String kind = colon < 0 ? text : text.substring(0, colon);
        String name = colon < 0 ? "" : text.substring(colon + 1).strip();
        Optional<Source> source = switch (kind) {
            case "header" -> Optional.of(Source.HEADER);
            case "cookie" -> Optional.of(Source.COOKIE);
            case "query" -> Optional.of(Source.QUERY);
            default -> Optional.empty();
        };
        if (source.isEmpty() || name.isEmpty()) {
            throw new IllegalArgumentException("'" + text + "' is not one of client-ip, header:NAME, cookie:NAME, "
                    + "query:NAME");
        }
        return new HashOn(source.get(), source.get() == Source.HEADER ? name.toLowerCase(Locale.ROOT) : name);
    }

    @Override
    public String toString() {
        return source == Source.CLIENT_IP ? "client-ip" : source.name().toLowerCase(Locale.ROOT) + ":" + name;
    }
}
