package io.sluice.resilience;

import java.util.Objects;

/**
 * What a retry decision needs to know about a request beyond the failure itself.
 *
 * <p>Idempotency follows RFC 9110 §9.2.2: GET, HEAD, OPTIONS, TRACE, PUT and DELETE are idempotent; POST, PATCH,
 * CONNECT and unknown methods are not. Method names are case-sensitive (RFC 9110 §9.1), so {@code get} is not GET.
 * An {@code Idempotency-Key} header (IETF draft-ietf-httpapi-idempotency-key-header) does <em>not</em> make a POST
 * idempotent here: Sluice cannot know whether the backend implements the draft, and a backend that does not would
 * apply the request twice. Such a POST is still retried when it never left Sluice.
 *
 * <p>Only four values exist; {@link #of} returns shared instances, so building one per request allocates nothing.
 *
 * @param idempotent     true if repeating the request has the same effect as sending it once
 * @param bodyReplayable true if Sluice can send the whole request again from its first byte: it has no body, the
 *                       body is still entirely held in the replay buffer (at most {@code max_body_buffer}), or no
 *                       byte of it has been read from the client yet
 */
public record RetryRequest(boolean idempotent, boolean bodyReplayable) {

    private static final RetryRequest[] SHARED = {
        new RetryRequest(false, false), new RetryRequest(false, true),
        new RetryRequest(true, false), new RetryRequest(true, true)
    };

    /** The shared instance for the given facts. */
    public static RetryRequest of(boolean idempotent, boolean bodyReplayable) {
        return SHARED[(idempotent ? 2 : 0) + (bodyReplayable ? 1 : 0)];
    }

    /** The shared instance for a request with the given method. */
    public static RetryRequest of(String method, boolean bodyReplayable) {
        return of(idempotent(method), bodyReplayable);
    }

    /** True for the idempotent methods of RFC 9110 §9.2.2 (exact, case-sensitive names). */
    public static boolean idempotent(String method) {
        Objects.requireNonNull(method, "method");
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }
}
