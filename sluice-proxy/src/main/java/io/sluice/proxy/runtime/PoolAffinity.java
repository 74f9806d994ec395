package io.sluice.proxy.runtime;

import io.sluice.balance.HashKeys;
import io.sluice.balance.PickContext;
import io.sluice.balance.StickySessions;
import io.sluice.config.HashOn;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Member;
import java.util.Optional;

/**
 * The request side of a pool's hash policy and sticky sessions: reads the {@code hash_on} value and the sticky
 * cookie or header from a request into its {@link PickContext}, and says which {@code Set-Cookie} the response
 * must carry. Every decision stays in core ({@link HashKeys}, {@link StickySessions}); this class only finds the
 * values in the request.
 *
 * <p>Values are taken as received, without percent-decoding or unquoting, so that the key is what the client
 * sent byte for byte; an empty value counts as missing (the request goes to {@code hash_fallback}).
 */
public final class PoolAffinity {

    /** What this class reads from a request. */
    public interface Request {
        /** The value of the first header field with this (lower-case) name, or empty. */
        Optional<String> header(String lowerName);

        /** The raw query string after {@code ?} (without the {@code ?}); empty if none. */
        String rawQuery();

        /** The client address's hash key, {@link HashKeys#ofClientIp}, computed once per connection. */
        long clientIpKey();
    }

    private static final PoolAffinity NONE = new PoolAffinity(Optional.empty(), Optional.empty());

    private final Optional<HashOn> hashOn;
    private final Optional<StickySessions> sticky;

    private PoolAffinity(Optional<HashOn> hashOn, Optional<StickySessions> sticky) {
        this.hashOn = hashOn;
        this.sticky = sticky;
    }

    /** The affinity of a pool: its {@code hash_on} if its policy hashes, and its sticky sessions if any. */
    public static PoolAffinity of(PoolConfig config) {
        Optional<HashOn> hashOn = PoolConfig.HASH_POLICIES.contains(config.policy())
                ? Optional.of(config.hashOn()) : Optional.empty();
        Optional<StickySessions> sticky = StickySessions.of(config);
        return hashOn.isEmpty() && sticky.isEmpty() ? NONE : new PoolAffinity(hashOn, sticky);
    }

    /** Puts the request's hash key and session affinity into the pick context. */
    public void prepare(PickContext pick, Request request) {
        if (hashOn.isPresent()) {
            HashOn on = hashOn.get();
            if (on.source() == HashOn.Source.CLIENT_IP) {
                pick.hash(request.clientIpKey());
            } else {
                value(request, on.source(), on.name()).ifPresent(v -> pick.hash(HashKeys.of(v)));
            }
        }
        if (sticky.isPresent()) {
            StickySessions s = sticky.get();
            HashOn.Source from = s.mode() == StickySessions.Mode.COOKIE ? HashOn.Source.COOKIE : HashOn.Source.HEADER;
            value(request, from, s.name()).ifPresent(v -> s.read(v, pick));
        }
    }

    /**
     * The {@code Set-Cookie} value the response must carry: when the pool has sticky cookies and the request had no
     * cookie, or one naming another endpoint than the one that served it.
     *
     * @param tls true on a TLS listener, where the cookie is {@code Secure}
     */
    public Optional<String> setCookie(PickContext pick, Member served, boolean tls) {
        if (sticky.isEmpty() || !sticky.get().shouldSetCookie(pick, served)) {
            return Optional.empty();
        }
        return Optional.of(sticky.get().setCookie(served, tls));
    }

    private static Optional<String> value(Request request, HashOn.Source source, String name) {
        Optional<String> found = switch (source) {
            case HEADER -> request.header(name);
            case COOKIE -> request.header("cookie").flatMap(c -> cookie(c, name));
            case QUERY -> parameter(request.rawQuery(), name);
            case CLIENT_IP -> Optional.empty();
        };
        return found.filter(v -> !v.isEmpty());
    }

    /** The value of a cookie in a {@code Cookie} header ({@code a=1; b=2}), as sent. */
    static Optional<String> cookie(String header, String name) {
        int i = 0;
        int n = header.length();
        while (i < n) {
            while (i < n && (header.charAt(i) == ' ' || header.charAt(i) == '\t' || header.charAt(i) == ';')) {
                i++;
            }
            int end = header.indexOf(';', i);
            end = end < 0 ? n : end;
            int eq = header.indexOf('=', i);
            if (eq > i && eq < end && header.regionMatches(i, name, 0, name.length())
                    && header.substring(i, eq).strip().length() == name.length()) {
                return Optional.of(header.substring(eq + 1, end).strip());
            }
            i = end + 1;
        }
        return Optional.empty();
    }

    /** The value of a query parameter ({@code a=1&b=2}), as sent (not percent-decoded). */
    static Optional<String> parameter(String query, String name) {
        int i = 0;
        int n = query.length();
        while (i <= n) {
            int end = query.indexOf('&', i);
            end = end < 0 ? n : end;
            int eq = query.indexOf('=', i);
            int nameEnd = eq >= 0 && eq < end ? eq : end;
            if (nameEnd - i == name.length() && query.regionMatches(i, name, 0, name.length())) {
                return Optional.of(eq >= 0 && eq < end ? query.substring(eq + 1, end) : "");
            }
            i = end + 1;
        }
        return Optional.empty();
    }
}
