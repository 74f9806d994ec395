package io.sluice.bench.load;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link TtftLoad} sends.
 *
 * @param targets     URLs of the endpoint, e.g. {@code http://127.0.0.1:8001/v1/chat/completions}; connection i goes
 *                    to target i mod n (direct runs spread over several servers, proxied runs use one)
 * @param targetsB    URLs of a second arm run at the same time with its own connections and histograms (empty: one
 *                    arm), so that two setups are compared under the same conditions
 * @param concurrency connections per arm, each with at most one request in flight
 * @param rate        requests per second per arm (open loop; paired arms take turns), or 0 for a closed loop
 * @param warmup      time before the measured window (requests started then are not recorded)
 * @param duration    the measured window
 * @param maxRequests stop issuing after this many measured requests (0: no limit)
 * @param drain       how long responses in flight at the end may take before they count as unfinished
 * @param threads     event loops of the client
 */
public record LoadOptions(List<URI> targets, List<URI> targetsB, int concurrency, double rate, Duration warmup, Duration duration,
                          long maxRequests, Duration drain, int threads) {

    /** Checks the fields. */
    public LoadOptions {
        targets = List.copyOf(targets);
        targetsB = List.copyOf(targetsB);
        Objects.requireNonNull(warmup, "warmup");
        Objects.requireNonNull(duration, "duration");
        Objects.requireNonNull(drain, "drain");
        if (targets.isEmpty()) {
            throw new IllegalArgumentException("at least one target URL is needed");
        }
        for (URI t : concat(targets, targetsB)) {
            if (!"http".equals(t.getScheme()) || t.getHost() == null || t.getPort() < 1) {
                throw new IllegalArgumentException("target must be http://host:port/path: " + t);
            }
        }
        if (concurrency < 1 || concurrency > 10_000) {
            throw new IllegalArgumentException("concurrency must be within 1..10000: " + concurrency);
        }
        if (!(rate >= 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("rate must be 0 (closed loop) or positive: " + rate);
        }
        if (duration.isZero() || duration.isNegative() || warmup.isNegative() || drain.isNegative()) {
            throw new IllegalArgumentException("duration must be positive, warm-up and drain not negative");
        }
        if (maxRequests < 0) {
            throw new IllegalArgumentException("max requests must not be negative: " + maxRequests);
        }
        if (threads < 1 || threads > concurrency) {
            throw new IllegalArgumentException("threads must be within 1..concurrency: " + threads);
        }
    }

    private static List<URI> concat(List<URI> a, List<URI> b) {
        List<URI> all = new java.util.ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** The targets of each arm. */
    public List<List<URI>> arms() {
        return targetsB.isEmpty() ? List.of(targets) : List.of(targets, targetsB);
    }
}
