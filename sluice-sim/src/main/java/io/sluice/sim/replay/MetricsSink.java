package io.sluice.sim.replay;

import io.sluice.endpoint.Member;
import io.sluice.inference.ServerMetrics;

/**
 * Where the replay delivers each simulated scrape of an endpoint's engine metrics: the router's view of the fleet.
 *
 * <p>A reading is taken from the engine at a scrape and delivered a scrape delay later, stamped with the time it
 * was read, so a policy sees the fleet as the proxy's scraper would: periodically and slightly late. The inference
 * scheduler plugs its metrics store in here through a {@link RoutingFactory}.
 */
@FunctionalInterface
public interface MetricsSink {

    /** A sink that drops every reading (for policies that read no engine metrics). */
    MetricsSink NONE = (member, metrics) -> { };

    /** Delivers one reading of one endpoint. */
    void publish(Member member, ServerMetrics metrics);
}
