package io.sluice.sim.replay;

import io.sluice.balance.Balancers;
import io.sluice.balance.LoadBalancer;
import io.sluice.config.PoolConfig;
import io.sluice.inference.FleetState;
import io.sluice.inference.InferencePolicies;
import io.sluice.time.Clock;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Builds the routing a replay runs for one policy: the same {@link LoadBalancer} the proxy would build from the
 * pool's configuration, plus where engine-metric scrapes go.
 *
 * <p>The default builds every policy through {@link Balancers#of}, as the proxy does. For the inference policies
 * ({@code inference}, {@code llm-d}, {@code sglang-cache-aware}) the sink publishes each simulated scrape into the
 * policy's {@link FleetState}, as the proxy's scraper does; other policies read no engine metrics and drop them.
 */
@FunctionalInterface
public interface RoutingFactory {

    /** The policy and its metrics sink. */
    record Routing(LoadBalancer balancer, MetricsSink sink) {
    }

    /** Policies from {@link Balancers}; scrapes go to the fleet state of an inference policy. */
    RoutingFactory BALANCERS = (pool, random, clock) -> {
        LoadBalancer balancer = Balancers.of(pool, random, clock);
        MetricsSink sink = InferencePolicies.fleet(balancer)
                .<MetricsSink>map(fleet -> (member, metrics) -> fleet.publish(member.address(), metrics))
                .orElse(MetricsSink.NONE);
        return new Routing(balancer, sink);
    };

    /**
     * Builds the routing of a pool.
     *
     * @throws IllegalArgumentException if the policy is not available
     */
    Routing create(PoolConfig pool, Supplier<RandomGenerator> random, Clock clock);
}
