package io.sluice.config;

import java.time.Duration;

/**
 * Upstream timeouts of a pool.
 *
 * @param connect        time to open a connection to an endpoint (then 503/retry: {@code upstream connect timeout})
 * @param responseHeader time from the end of the request to the response head (then 504)
 * @param idle           time a request in progress may go without a byte in either direction (then 504 before the
 *                       response head, or both connections closed during it)
 * @param poolIdle       time an unused upstream connection is kept for reuse. Shorter than the backends' own
 *                       keep-alive timeout, so Sluice closes first and never sends a request on a connection the
 *                       backend is closing (uvicorn, which serves vLLM, closes idle connections after 5 s)
 */
public record TimeoutsConfig(Duration connect, Duration responseHeader, Duration idle, Duration poolIdle) {

    /** The defaults: 1 s connect, 30 s response head, 60 s idle, 4 s pooled. */
    public static final TimeoutsConfig DEFAULT = new TimeoutsConfig(Duration.ofSeconds(1), Duration.ofSeconds(30),
            Duration.ofSeconds(60), Duration.ofSeconds(4));

    static TimeoutsConfig read(ConfigNode n) {
        return new TimeoutsConfig(
                n.duration("connect", DEFAULT.connect(), Duration.ofMillis(1), Duration.ofMinutes(5)),
                n.duration("response_header", DEFAULT.responseHeader(), Duration.ofMillis(1), Duration.ofDays(1)),
                n.duration("idle", DEFAULT.idle(), Duration.ofMillis(1), Duration.ofDays(1)),
                n.duration("pool_idle", DEFAULT.poolIdle(), Duration.ofMillis(1), Duration.ofHours(1)));
    }
}
