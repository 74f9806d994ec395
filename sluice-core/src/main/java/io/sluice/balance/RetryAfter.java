package io.sluice.balance;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.OptionalLong;

/**
 * Reads an endpoint's {@code Retry-After} (RFC 9110 §10.2.3) on a 429 or 503, which {@code least-response-time}
 * honours by leaving the endpoint alone until then ({@link io.sluice.endpoint.LoadStats#penaliseUntil}).
 *
 * <p>Both forms are accepted: delay-seconds ({@code 120}) and an HTTP-date ({@code Wed, 21 Oct 2026 07:28:00 GMT}).
 * The delay is capped at {@link #MAX_MILLIS} so that one wrong header cannot take an endpoint out of rotation for
 * hours; health checks and outlier detection exist for endpoints that are really down.
 */
public final class RetryAfter {

    /** Longest delay honoured: five minutes. */
    public static final long MAX_MILLIS = 300_000;

    private RetryAfter() {
    }

    /**
     * The delay a {@code Retry-After} value asks for, in milliseconds from now, capped; empty if the value is
     * malformed or in the past.
     *
     * @param value     the header value
     * @param nowMillis the current wall-clock time (for the HTTP-date form)
     */
    public static OptionalLong millis(String value, long nowMillis) {
        String v = value.strip();
        if (v.isEmpty()) {
            return OptionalLong.empty();
        }
        long delay;
        if (Character.isDigit(v.charAt(0))) {
            for (int i = 0; i < v.length(); i++) {
                if (!Character.isDigit(v.charAt(i))) {
                    return OptionalLong.empty();
                }
            }
            delay = v.length() > 9 ? MAX_MILLIS : Long.parseLong(v) * 1000;
        } else {
            try {
                delay = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant().toEpochMilli()
                        - nowMillis;
            } catch (DateTimeParseException e) {
                return OptionalLong.empty();
            }
        }
        return delay <= 0 ? OptionalLong.empty() : OptionalLong.of(Math.min(delay, MAX_MILLIS));
    }
}
