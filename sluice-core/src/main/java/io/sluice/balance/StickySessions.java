package io.sluice.balance;

import io.sluice.config.PoolConfig;
import io.sluice.config.StickyConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Session affinity for a pool ({@code sticky:}): the decisions, with no I/O; the data plane only reads the request's
 * cookie or header into the {@link PickContext} and writes back the {@code Set-Cookie} this class asks for.
 *
 * <p><b>Cookie</b> ({@code sticky: { cookie: NAME, ttl }}), HAProxy's {@code cookie NAME insert}: the first response
 * carries a cookie naming the endpoint that served it; later requests go back to that endpoint while it is a
 * candidate of the pool's current snapshot (healthy, not draining, not ejected) and not already tried by this
 * request. Otherwise the pool's policy picks again and the cookie is re-issued for the new endpoint. The value is
 * an opaque id, 16 lower-case hex digits of {@code XXH3-64(address)} seeded with a per-pool salt
 * ({@code XXH3-64("sluice-sticky:" + pool name)}): it does not show the endpoint's address, and it is the same after
 * a restart and on every Sluice instance serving the pool, so a fleet of proxies shares sessions. It is opaque, not
 * secret: an id is stable for an address, and anyone who can list candidate addresses can compute it.
 *
 * <p><b>Header</b> ({@code sticky: { header: x-session-id }}), for API clients that keep no cookies: the header's
 * value is hashed ({@link HashKeys#of(CharSequence)}) and mapped onto the candidates by consistent hashing (a
 * {@link HashRing}), so a session stays on its endpoint and only the sessions of an endpoint that goes away move.
 *
 * <p>Per request: {@code ctx.reset()}; {@link #read(CharSequence, PickContext)} with the cookie or header value if
 * present; {@code pool.select(ctx)}; then, for cookies, {@link #shouldSetCookie} and {@link #setCookie}.
 */
public final class StickySessions {

    /** Where the affinity comes from. */
    public enum Mode {
        /** A cookie Sluice inserts. */
        COOKIE,
        /** A request header the client sets. */
        HEADER
    }

    private static final int ID_HEX_DIGITS = 16;

    private final Mode mode;
    private final String name;
    private final Duration ttl;
    private final long salt;
    private final double pointsPerWeight;
    private final ConcurrentHashMap<Address, Long> ids = new ConcurrentHashMap<>();

    private StickySessions(Mode mode, String name, Duration ttl, long salt, double pointsPerWeight) {
        this.mode = mode;
        this.name = name;
        this.ttl = ttl;
        this.salt = salt;
        this.pointsPerWeight = pointsPerWeight;
    }

    /** The pool's session affinity, if it has a {@code sticky:} section. */
    public static Optional<StickySessions> of(PoolConfig pool) {
        return pool.sticky().map(s -> of(s, pool.name(), Balancers.pointsPerWeight(pool)));
    }

    /** Session affinity from its configuration, for the named pool. */
    static StickySessions of(StickyConfig config, String poolName, double pointsPerWeight) {
        long salt = HashKeys.of("sluice-sticky:" + poolName);
        if (config.cookie().isPresent()) {
            return new StickySessions(Mode.COOKIE, config.cookie().get(), config.ttl(), salt, pointsPerWeight);
        }
        return new StickySessions(Mode.HEADER, config.header().orElseThrow(), config.ttl(), salt, pointsPerWeight);
    }

    /** Cookie affinity with the given cookie name and max age (zero: a session cookie). */
    public static StickySessions cookie(String cookieName, Duration ttl, String poolName) {
        return new StickySessions(Mode.COOKIE, cookieName, ttl, HashKeys.of("sluice-sticky:" + poolName),
                Balancers.DEFAULT_POINTS_PER_WEIGHT);
    }

    /** Header affinity on the given (lower-case) header name. */
    public static StickySessions header(String headerName, String poolName) {
        return new StickySessions(Mode.HEADER, headerName, Duration.ZERO, HashKeys.of("sluice-sticky:" + poolName),
                Balancers.DEFAULT_POINTS_PER_WEIGHT);
    }

    /** Cookie or header. */
    public Mode mode() {
        return mode;
    }

    /** The cookie name, or the lower-case header name. */
    public String name() {
        return name;
    }

    /** The cookie's max age; zero for a session cookie. */
    public Duration ttl() {
        return ttl;
    }

    /**
     * Puts the request's cookie or header value into the context. A cookie that is not one of ours (wrong length,
     * not hex) is ignored, so the request is treated as new and gets a fresh cookie.
     *
     * @return true if the value was taken
     */
    public boolean read(CharSequence value, PickContext ctx) {
        if (mode == Mode.HEADER) {
            if (value.length() == 0) {
                return false;
            }
            ctx.affinity(HashKeys.of(value));
            return true;
        }
        if (value.length() != ID_HEX_DIGITS) {
            return false;
        }
        long id = 0;
        for (int i = 0; i < ID_HEX_DIGITS; i++) {
            int digit = Character.digit(value.charAt(i), 16);
            if (digit < 0) {
                return false;
            }
            id = id << 4 | digit;
        }
        ctx.affinity(id);
        return true;
    }

    /**
     * True if the response to this request must set the cookie: it had none, or its cookie named another endpoint
     * than the one that served it (re-picked after that endpoint went away, or on a retry). Never in header mode.
     */
    public boolean shouldSetCookie(PickContext ctx, Member served) {
        return mode == Mode.COOKIE && (!ctx.hasAffinity() || ctx.affinity() != endpointId(served.address()));
    }

    /** The cookie value naming an endpoint: 16 hex digits. */
    public String cookieValue(Member member) {
        String hex = Long.toHexString(endpointId(member.address()));
        return "0".repeat(ID_HEX_DIGITS - hex.length()) + hex;
    }

    /**
     * The {@code Set-Cookie} header value naming an endpoint: {@code Path=/}, {@code HttpOnly},
     * {@code SameSite=Lax}, {@code Max-Age} when a ttl is set, and {@code Secure} on TLS listeners.
     */
    public String setCookie(Member member, boolean secure) {
        StringBuilder sb = new StringBuilder(96).append(name).append('=').append(cookieValue(member))
                .append("; Path=/");
        if (!ttl.isZero()) {
            sb.append("; Max-Age=").append(ttl.toSeconds());
        }
        sb.append("; HttpOnly; SameSite=Lax");
        if (secure) {
            sb.append("; Secure");
        }
        return sb.toString();
    }

    /** The opaque id of the endpoint at an address: XXH3-64 of the address, seeded with the pool's salt. */
    long endpointId(Address address) {
        Long id = ids.get(address);
        if (id == null) {
            id = HashKeys.seeded(salt, address.toString());
            ids.put(address, id);
        }
        return id;
    }

    /** Wraps a pool's policy so that requests with an affinity go to their endpoint first. */
    LoadBalancer wrap(LoadBalancer policy) {
        return new StickyBalancer(this, policy, pointsPerWeight);
    }
}
