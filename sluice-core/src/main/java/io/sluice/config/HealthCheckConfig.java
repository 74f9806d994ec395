package io.sluice.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Active health checking of a pool's endpoints.
 *
 * <p>An endpoint becomes unhealthy after {@code unhealthyThreshold} consecutive failed probes and healthy again
 * after {@code healthyThreshold} consecutive passes. Probes run every {@code interval} (± {@code jitter}), and every
 * {@code unhealthyInterval} while the endpoint is down, so recovery is noticed sooner. A new endpoint takes traffic
 * only once it has passed (warm-up).
 *
 * @param type               http (a GET that must answer an expected status), tcp (a connect), grpc (gRPC health v1)
 * @param path               http: the request path
 * @param host               http: the Host header (default: the endpoint address)
 * @param expectedStatuses   http: accepted status ranges, inclusive
 * @param interval           time between probes while healthy
 * @param unhealthyInterval  time between probes while unhealthy
 * @param timeout            time a probe may take
 * @param healthyThreshold   consecutive passes to become healthy
 * @param unhealthyThreshold consecutive failures to become unhealthy
 * @param jitter             fraction of the interval added or removed at random, so probes do not align
 * @param grpcService        grpc: the service name asked about (empty: the whole server)
 */
public record HealthCheckConfig(Type type, String path, Optional<String> host, List<StatusRange> expectedStatuses,
                                Duration interval, Duration unhealthyInterval, Duration timeout,
                                int healthyThreshold, int unhealthyThreshold, double jitter, String grpcService) {

    /** Probe kinds. */
    public enum Type { HTTP, TCP, GRPC }

    /** An inclusive range of status codes. */
    public record StatusRange(int from, int to) {
        /** True if the status is inside. */
        public boolean contains(int status) {
            return status >= from && status <= to;
        }
    }

    /** Copies the list. */
    public HealthCheckConfig {
        expectedStatuses = List.copyOf(expectedStatuses);
    }

    /** True if the status counts as a pass. */
    public boolean expected(int status) {
        for (StatusRange r : expectedStatuses) {
            if (r.contains(status)) {
                return true;
            }
        }
        return false;
    }

    static HealthCheckConfig read(ConfigNode n) {
        Type type = n.choice("type", Type.HTTP, Map.of("http", Type.HTTP, "tcp", Type.TCP, "grpc", Type.GRPC));
        String path = n.string("path", "/health");
        if (!path.startsWith("/")) {
            n.error("path", "'" + path + "' must start with '/'");
        }
        Optional<String> host = n.optString("host");
        List<StatusRange> statuses = new ArrayList<>();
        for (String s : n.stringList("expected_statuses")) {
            try {
                int dash = s.indexOf('-');
                int from = Integer.parseInt((dash < 0 ? s : s.substring(0, dash)).strip());
                int to = dash < 0 ? from : Integer.parseInt(s.substring(dash + 1).strip());
                if (from < 100 || to > 599 || from > to) {
                    throw new NumberFormatException();
                }
                statuses.add(new StatusRange(from, to));
            } catch (NumberFormatException e) {
                n.error("expected_statuses", "'" + s + "' is not a status or a range of statuses (200, 200-399)");
            }
        }
        if (statuses.isEmpty()) {
            statuses.add(new StatusRange(200, 399));
        }
        Duration interval = n.duration("interval", Duration.ofSeconds(5), Duration.ofMillis(10), Duration.ofHours(1));
        Duration unhealthyInterval = n.duration("unhealthy_interval", interval.dividedBy(2).compareTo(
                Duration.ofMillis(10)) < 0 ? interval : interval.dividedBy(2), Duration.ofMillis(10),
                Duration.ofHours(1));
        Duration timeout = n.duration("timeout", Duration.ofSeconds(1), Duration.ofMillis(1), Duration.ofMinutes(5));
        if (timeout.compareTo(interval) > 0) {
            n.error("timeout", Durations.format(timeout) + " is longer than the interval "
                    + Durations.format(interval));
        }
        int healthy = n.integer("healthy_threshold", 2, 1, 100);
        int unhealthy = n.integer("unhealthy_threshold", 3, 1, 100);
        double jitter = n.number("jitter", 0.1, 0, 0.5);
        String service = n.string("grpc_service", "");
        return new HealthCheckConfig(type, path, host, statuses, interval, unhealthyInterval, timeout, healthy,
                unhealthy, jitter, service);
    }
}
