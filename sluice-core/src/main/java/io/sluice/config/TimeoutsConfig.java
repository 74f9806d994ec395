package io.sluice.config;

import java.time.Duration;

/**
 * Upstream timeouts of a pool.
 *
 * @param connect        time to open a connection to an endpoint (then 503/retry: {@code upstream connect timeout})
 * @param responseHeader time from the end of the request to the response head (then 504)
 * @param idle           time an upstream connection may carry no bytes, in a request or pooled (then closed;
 *                       mid-response: 504 or a reset)
 */
public record TimeoutsConfig(Duration connect, Duration responseHeader, Duration idle) {

    /** The defaults: 1 s connect, 30 s response head, 60 s idle. */
    public static final TimeoutsConfig DEFAULT = new TimeoutsConfig(Duration.ofSeconds(1), Duration.ofSeconds(30),
            Duration.ofSeconds(60));

    static TimeoutsConfig read(ConfigNode n) {
        return new TimeoutsConfig(
                n.duration("connect", DEFAULT.connect(), Duration.ofMillis(1), Duration.ofMinutes(5)),
                n.duration("response_header", DEFAULT.responseHeader(), Duration.ofMillis(1), Duration.ofDays(1)),
                n.duration("idle", DEFAULT.idle(), Duration.ofMillis(1), Duration.ofDays(1)));
    }
}
