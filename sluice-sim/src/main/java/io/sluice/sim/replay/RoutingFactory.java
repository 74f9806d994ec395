package io.sluice.sim.replay;

import io.sluice.balance.Balancers;
import io.sluice.balance.LoadBalancer;
import io.sluice.config.PoolConfig;
import io.sluice.inference.FleetState;
import io.sluice.inference.InferencePolicies;
import io.sluice.time.Clock;
import java.util.Objects;
import java.util.Optional;
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

    /**
     * The policy, its metrics sink and, for an inference policy, the fleet state it decides with: the replay then
     * drives it as the proxy does (an {@code InferenceExchange} per request with first-token and end feedback, a
     * central {@code FlowController} for requests refused as saturated).
     */
    record Routing(LoadBalancer balancer, MetricsSink sink, Optional<FleetState> fleet) {

        /** Checks the fields. */
        public Routing {
            Objects.requireNonNull(balancer, "balancer");
            Objects.requireNonNull(sink, "sink");
            Objects.requireNonNull(fleet, "fleet");
        }

        /** A policy with no fleet state of its own. */
        public Routing(LoadBalancer balancer, MetricsSink sink) {
            this(balancer, sink, Optional.empty());
        }
    }

    /** Policies from {@link Balancers}; scrapes go to the fleet state of an inference policy. */
    RoutingFactory BALANCERS = (pool, random, clock) -> {
        LoadBalancer balancer = Balancers.of(pool, random, clock);
        Optional<FleetState> fleet = InferencePolicies.fleet(balancer);
        MetricsSink sink = fleet.<MetricsSink>map(f -> (member, metrics) -> f.publish(member.address(), metrics))
                .orElse(MetricsSink.NONE);
        return new Routing(balancer, sink, fleet);
    };

    /**
     * Builds the routing of a pool.
     *
     * @throws IllegalArgumentException if the policy is not available
     */
    Routing create(PoolConfig pool, Supplier<RandomGenerator> random, Clock clock);
}
