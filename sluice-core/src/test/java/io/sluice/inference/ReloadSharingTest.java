package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.time.ManualClock;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/**
 * What two pools built across a reload share: a fleet (when the inference settings did not change) and requests
 * moved from the old central queue to the new one. No sockets.
 */
class ReloadSharingTest {

    private final ManualClock clock = ManualClock.start();

    private static List<Endpoint> endpoints(int n) {
        return java.util.stream.IntStream.range(0, n)
                .mapToObj(i -> Endpoint.of(Address.parse("10.0.0." + (i + 1) + ":8000"))).toList();
    }

    private static InferenceExchange exchange() {
        return InferenceExchange.of(new InferenceRequest("m", Optional.empty(), PromptHasher.hash("x".repeat(4096)),
                1024, 16, Optional.empty(), 0, "", 0, true));
    }

    @Test
    void aRefusedReloadThatDroppedAnEndpointLeavesTheRunningPoolReadingItsMetrics() {
        FleetState fleet = FleetState.of(InferenceConfig.defaults(), clock);
        LoadBalancer running = InferencePolicies.of("inference", fleet, Random::new);
        Pool pool = Pool.of("p", running, EndpointSet.Options.DEFAULT, clock, false, endpoints(3), Optional.empty());
        // A reload that keeps the settings shares the fleet; building it (without 10.0.0.3) forgets that endpoint.
        // The reload is then refused: the running pool, with all three, stays in force.
        LoadBalancer built = InferencePolicies.of("inference", fleet, Random::new);
        Pool.of("p", built, EndpointSet.Options.DEFAULT, clock, false, endpoints(2), Optional.of(pool));
        for (Endpoint e : endpoints(3)) {
            fleet.publish(e.address(), new ServerMetrics(50, 8, 0.5, 0, 0, Set.of(), 0, clock.nanoTime()));
        }
        // Every endpoint reports 50 waiting: the running pool must see all three saturated.
        Throwable t = Assertions.catchThrowable(() -> pool.select(new PickContext().attach(exchange())));
        assertThat(t).isInstanceOf(NoEndpointException.class);
        assertThat(((NoEndpointException) t).reason()).isEqualTo(NoEndpointException.Reason.SATURATED);
    }

    @Test
    void disallowedEndpointsAreNeverPickedHoweverManyThereAre() {
        // Twelve endpoints, ten of which do not serve the model (by their discovered lists): more than the eight
        // tried endpoints a pick context remembers.
        FleetState fleet = FleetState.of(InferenceConfig.defaults(), clock);
        Pool pool = Pool.of("p", InferencePolicies.of("inference", fleet, Random::new), EndpointSet.Options.DEFAULT,
                clock, false, endpoints(12), Optional.empty());
        for (int round = 0; round < 50; round++) {
            PickContext ctx = new PickContext().attach(exchange());
            for (var m : pool.members()) {
                if (!m.address().toString().endsWith(".11:8000") && !m.address().toString().endsWith(".12:8000")) {
                    ctx.disallow(m);
                }
            }
            assertThat(pool.select(ctx).address().toString()).matches("10\\.0\\.0\\.1[12]:8000");
        }
        PickContext none = new PickContext().attach(exchange());
        pool.members().forEach(none::disallow);
        Throwable t = Assertions.catchThrowable(() -> pool.select(none));
        assertThat(((NoEndpointException) t).reason()).isEqualTo(NoEndpointException.Reason.NOT_SERVED);
    }

    @Test
    void aRetryThroughTheReplacedPoolTakesItsBookingBackUnderTheBookingFleetsLock() throws Exception {
        List<Endpoint> eps = endpoints(2);
        LoadBalancer oldPolicy = InferencePolicies.of("inference", FleetState.of(InferenceConfig.defaults(), clock),
                Random::new);
        FleetState newFleet = FleetState.of(InferenceConfig.defaults(), clock);
        LoadBalancer newPolicy = InferencePolicies.of("inference", newFleet, Random::new);
        Pool oldPool = Pool.of("p", oldPolicy, EndpointSet.Options.DEFAULT, clock, false, eps, Optional.empty());
        Pool newPool = Pool.of("p", newPolicy, EndpointSet.Options.DEFAULT, clock, false, eps, Optional.of(oldPool));
        InferenceExchange x = exchange();
        PickContext ctx = new PickContext().attach(x);
        newPool.select(ctx);   // a request moved across the reload was booked through the new pool
        EndpointState booked = x.endpointState();
        assertThat(booked.inFlight).isEqualTo(1);
        // Its retry goes through the old pool (the attempt still holds the old runtime) while another thread holds
        // the new fleet's lock: the booking must not change under that lock.
        Thread retry = new Thread(() -> oldPool.select(ctx));
        int seen;
        synchronized (newFleet.lock) {
            retry.start();
            retry.join(TimeUnit.MILLISECONDS.toMillis(300));
            seen = booked.inFlight;
        }
        retry.join(TimeUnit.SECONDS.toMillis(10));
        assertThat(seen).as("the new fleet's endpoint changed while its lock was held elsewhere").isEqualTo(1);
        assertThat(booked.inFlight).as("taken back once the lock was free").isZero();
    }
}
