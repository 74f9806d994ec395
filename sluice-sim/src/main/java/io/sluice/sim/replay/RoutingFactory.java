package io.sluice.sim.replay;

import io.sluice.balance.Balancers;
import io.sluice.balance.LoadBalancer;
import io.sluice.config.PoolConfig;
import io.sluice.time.Clock;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * Builds the routing a replay runs for one policy: the same {@link LoadBalancer} the proxy would build from the
 * pool's configuration, plus where engine-metric scrapes go.
 *
 * <p>The default builds every policy through {@link Balancers#of} and drops scrapes; the inference scheduler
 * supplies a factory whose sink feeds its metrics store.
 */
@FunctionalInterface
public interface RoutingFactory {

    /** The policy and its metrics sink. */
    record Routing(LoadBalancer balancer, MetricsSink sink) {
    }

    /** Policies from {@link Balancers}, no metrics. */
    RoutingFactory BALANCERS = (pool, random, clock) -> new Routing(Balancers.of(pool, random, clock),
            MetricsSink.NONE);

    /**
     * Builds the routing of a pool.
     *
     * @throws IllegalArgumentException if the policy is not available
     */
    Routing create(PoolConfig pool, Supplier<RandomGenerator> random, Clock clock);
}
