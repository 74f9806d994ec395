package io.sluice.config;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * Session affinity: later requests of a client go to the endpoint that served its first one, while that endpoint
 * is usable.
 *
 * @param cookie the cookie Sluice sets (an opaque endpoint id, not its address)
 * @param ttl    the cookie's max age (0: a session cookie)
 * @param header a request header whose value names the session, for API clients that keep no cookies
 */
public record StickyConfig(Optional<String> cookie, Duration ttl, Optional<String> header) {

    static StickyConfig read(ConfigNode n) {
        Optional<String> cookie = n.optString("cookie");
        cookie.filter(c -> !c.matches("[A-Za-z0-9!#$%&'*+.^_`|~-]+"))
                .ifPresent(c -> n.error("cookie", "'" + c + "' is not a valid cookie name"));
        Duration ttl = n.duration("ttl", Duration.ZERO, Duration.ZERO, Duration.ofDays(3650));
        Optional<String> header = n.optString("header").map(h -> h.toLowerCase(Locale.ROOT));
        if (cookie.isEmpty() && header.isEmpty()) {
            n.error("cookie", "sticky needs a cookie name or a header");
        }
        if (cookie.isPresent() && header.isPresent()) {
            n.error("header", "sticky takes a cookie or a header, not both");
        }
        return new StickyConfig(cookie, ttl, header);
    }
}
