package io.sluice.config;

import java.time.Duration;

/**
 * Passive outlier detection: endpoints that fail requests in a row are ejected for a while.
 *
 * <p>The n-th ejection of an endpoint lasts {@code baseEjection × n}, capped at {@code maxEjection}; never more than
 * {@code maxEjectionPercent} of a pool is ejected at once (at least one endpoint may always be). As in Envoy's
 * outlier detection, with gateway errors (502/503/504) and connect failures counted separately so a backend that
 * answers 500 for one bad request is not taken out with the ones that cannot be reached.
 *
 * @param consecutiveErrors          5xx answers or failures in a row that eject (0: off)
 * @param consecutiveGatewayErrors   502/503/504, connect failures, resets and timeouts in a row that eject (0: off)
 * @param baseEjection               the first ejection's length
 * @param maxEjection                the longest ejection
 * @param maxEjectionPercent         the largest share of the pool ejected at once
 */
public record OutlierConfig(int consecutiveErrors, int consecutiveGatewayErrors, Duration baseEjection,
                            Duration maxEjection, int maxEjectionPercent) {

    static OutlierConfig read(ConfigNode n) {
        int errors = n.integer("consecutive_errors", 5, 0, 1000);
        int gateway = n.integer("consecutive_gateway_errors", 3, 0, 1000);
        Duration base = n.duration("base_ejection", Duration.ofSeconds(30), Duration.ofMillis(10), Duration.ofHours(1));
        Duration max = n.duration("max_ejection", Duration.ofSeconds(300), Duration.ofMillis(10), Duration.ofDays(1));
        if (max.compareTo(base) < 0) {
            n.error("max_ejection", Durations.format(max) + " is shorter than base_ejection "
                    + Durations.format(base));
        }
        int percent = n.integer("max_ejection_percent", 10, 0, 100);
        return new OutlierConfig(errors, gateway, base, max, percent);
    }
}
