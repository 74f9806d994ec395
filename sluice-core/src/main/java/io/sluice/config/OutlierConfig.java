package io.sluice.config;

import java.time.Duration;

/**
 * Passive outlier detection: endpoints that fail requests in a row are ejected for a while.
 *
 * <p>The n-th ejection of an endpoint in a row lasts {@code baseEjection × n}, capped at {@code maxEjection}; n
 * goes down by one for every {@code interval} the endpoint spends back in service. Never more than
 * {@code maxEjectionPercent} of a pool is ejected at once, but one endpoint may always be (Envoy's semantics). As in
 * Envoy's outlier detection, gateway errors (502/503/504, connect failures, resets, timeouts) are counted
 * separately from all 5xx, so a backend that cannot be reached is taken out sooner than one answering 500 to a bad
 * request.
 *
 * @param consecutiveErrors          5xx answers or failures in a row that eject (0: off)
 * @param consecutiveGatewayErrors   502/503/504, connect failures, resets and timeouts in a row that eject (0: off)
 * @param baseEjection               the first ejection's length
 * @param maxEjection                the longest ejection
 * @param maxEjectionPercent         the largest share of the pool ejected at once (one endpoint always may be)
 * @param interval                   time back in service after which the ejection multiplier n drops by one
 */
public record OutlierConfig(int consecutiveErrors, int consecutiveGatewayErrors, Duration baseEjection,
                            Duration maxEjection, int maxEjectionPercent, Duration interval) {

    /** Envoy's default for {@code interval}. */
    public static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(10);

    /** Validates the values that the config reader cannot express as ranges. */
    public OutlierConfig {
        if (consecutiveErrors < 0 || consecutiveGatewayErrors < 0) {
            throw new IllegalArgumentException("consecutive error thresholds must not be negative");
        }
        if (baseEjection.isNegative() || baseEjection.isZero() || maxEjection.compareTo(baseEjection) < 0) {
            throw new IllegalArgumentException("need 0 < base_ejection <= max_ejection: " + baseEjection + ", "
                    + maxEjection);
        }
        if (maxEjectionPercent < 0 || maxEjectionPercent > 100) {
            throw new IllegalArgumentException("max_ejection_percent " + maxEjectionPercent + " is not 0-100");
        }
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("interval must be positive: " + interval);
        }
    }

    /** The configuration without an explicit decay interval (Envoy's 10 s). */
    public OutlierConfig(int consecutiveErrors, int consecutiveGatewayErrors, Duration baseEjection,
                         Duration maxEjection, int maxEjectionPercent) {
        this(consecutiveErrors, consecutiveGatewayErrors, baseEjection, maxEjection, maxEjectionPercent,
                DEFAULT_INTERVAL);
    }

    static OutlierConfig read(ConfigNode n) {
        int errors = n.integer("consecutive_errors", 5, 0, 1000);
        int gateway = n.integer("consecutive_gateway_errors", 3, 0, 1000);
        Duration base = n.duration("base_ejection", Duration.ofSeconds(30), Duration.ofMillis(10), Duration.ofHours(1));
        Duration max = n.duration("max_ejection", Duration.ofSeconds(300), Duration.ofMillis(10), Duration.ofDays(1));
        if (max.compareTo(base) < 0) {
            n.error("max_ejection", Durations.format(max) + " is shorter than base_ejection "
                    + Durations.format(base));
            max = base;
        }
        int percent = n.integer("max_ejection_percent", 10, 0, 100);
        Duration interval = n.duration("interval", DEFAULT_INTERVAL, Duration.ofMillis(10), Duration.ofHours(1));
        return new OutlierConfig(errors, gateway, base, max, percent, interval);
    }
}
