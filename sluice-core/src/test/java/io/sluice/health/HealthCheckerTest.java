package io.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.Pool;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.HealthCheckConfig.StatusRange;
import io.sluice.endpoint.Member;
import io.sluice.health.HealthChecker.State;
import io.sluice.health.HealthChecker.Transition;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HealthCheckerTest {

    private static final Duration INTERVAL = Duration.ofSeconds(2);
    private static final Duration UNHEALTHY_INTERVAL = Duration.ofMillis(500);

    private final ManualClock clock = ManualClock.start();
    private Pool pool;
    private final AtomicInteger rebuilds = new AtomicInteger();

    @BeforeEach
    void setUp() {
        pool = TestPools.of(2, clock, true);
        pool.onChange(p -> rebuilds.incrementAndGet());
    }

    private static HealthCheckConfig config(int healthy, int unhealthy, double jitter) {
        return new HealthCheckConfig(HealthCheckConfig.Type.HTTP, "/health", Optional.empty(),
                List.of(new StatusRange(200, 299)), INTERVAL, UNHEALTHY_INTERVAL, Duration.ofSeconds(1), healthy,
                unhealthy, jitter, "");
    }

    private HealthChecker checker(int index, HealthCheckConfig config) {
        return HealthChecker.of(pool, pool.members().get(index), config, new SplittableRandom(42));
    }

    private long now() {
        return clock.nanoTime();
    }

    @Test
    void newEndpointTakesNoTrafficUntilItsFirstPassWhichIsEnoughOnItsOwn() {
        HealthChecker c = checker(0, config(3, 3, 0));
        Member m = c.member();
        assertThat(c.state()).isEqualTo(State.PENDING);
        assertThat(pool.snapshot().candidates()).doesNotContain(m);

        clock.advance(Duration.ofMillis(10));
        assertThat(c.onResult(true, now())).isEqualTo(Transition.UP);

        assertThat(c.state()).isEqualTo(State.HEALTHY);
        assertThat(m.checkPassing()).isTrue();
        assertThat(pool.snapshot().candidates()).contains(m);
        assertThat(m.usableSinceNanos()).isEqualTo(now());
    }

    @Test
    void endpointFailingItsFirstProbeNeedsHealthyThresholdPasses() {
        HealthChecker c = checker(0, config(2, 3, 0));
        assertThat(c.onResult(false, now())).isEqualTo(Transition.NONE);
        assertThat(c.state()).isEqualTo(State.UNHEALTHY);

        assertThat(c.onResult(true, now())).isEqualTo(Transition.NONE);
        assertThat(pool.snapshot().candidates()).doesNotContain(c.member());
        assertThat(c.onResult(true, now())).isEqualTo(Transition.UP);
        assertThat(pool.snapshot().candidates()).contains(c.member());
    }

    @Test
    void healthyEndpointGoesDownAfterExactlyUnhealthyThresholdFailuresInARow() {
        HealthChecker c = checker(0, config(2, 3, 0));
        c.onResult(true, now());

        assertThat(c.onResult(false, now())).isEqualTo(Transition.NONE);
        assertThat(c.onResult(false, now())).isEqualTo(Transition.NONE);
        assertThat(c.onResult(true, now())).as("a pass resets the failure count").isEqualTo(Transition.NONE);
        assertThat(c.onResult(false, now())).isEqualTo(Transition.NONE);
        assertThat(c.onResult(false, now())).isEqualTo(Transition.NONE);
        assertThat(c.member().checkPassing()).isTrue();
        assertThat(c.onResult(false, now())).isEqualTo(Transition.DOWN);

        assertThat(c.state()).isEqualTo(State.UNHEALTHY);
        assertThat(c.member().checkPassing()).isFalse();
        assertThat(pool.snapshot().candidates()).doesNotContain(c.member());
    }

    @Test
    void unhealthyEndpointReturnsAfterHealthyThresholdPassesInARow() {
        HealthChecker c = checker(0, config(3, 1, 0));
        c.onResult(true, now());
        c.onResult(false, now());
        assertThat(c.state()).isEqualTo(State.UNHEALTHY);

        c.onResult(true, now());
        c.onResult(true, now());
        c.onResult(false, now());
        c.onResult(true, now());
        c.onResult(true, now());
        assertThat(c.state()).as("the failure restarted the count").isEqualTo(State.UNHEALTHY);
        clock.advance(Duration.ofSeconds(1));
        assertThat(c.onResult(true, now())).isEqualTo(Transition.UP);
        assertThat(c.member().usableSinceNanos()).as("slow start ramps from the recovery").isEqualTo(now());
    }

    @Test
    void timeoutsCountAsFailures() {
        HealthChecker c = checker(0, config(1, 2, 0));
        c.onResult(true, now());
        assertThat(c.onTimeout(now())).isEqualTo(Transition.NONE);
        assertThat(c.onTimeout(now())).isEqualTo(Transition.DOWN);
        assertThat(c.timeouts()).isEqualTo(2);
        assertThat(c.failures()).isEqualTo(2);
        assertThat(c.probes()).isEqualTo(3);
    }

    @Test
    void poolIsRebuiltOnlyOnTransitions() {
        HealthChecker c = checker(0, config(2, 2, 0));
        int before = rebuilds.get();
        c.onResult(true, now());
        assertThat(rebuilds.get()).isEqualTo(before + 1);
        for (int i = 0; i < 50; i++) {
            c.onResult(true, now());
        }
        c.onResult(false, now());
        assertThat(rebuilds.get()).as("passes and a single failure change nothing").isEqualTo(before + 1);
        c.onResult(false, now());
        assertThat(rebuilds.get()).isEqualTo(before + 2);
        for (int i = 0; i < 50; i++) {
            c.onResult(false, now());
        }
        assertThat(rebuilds.get()).isEqualTo(before + 2);
    }

    @Test
    void endpointAlreadyPassingStartsHealthy() {
        Pool unchecked = TestPools.of(1, clock, false);
        HealthChecker c = HealthChecker.of(unchecked, unchecked.members().get(0), config(2, 3, 0),
                new SplittableRandom(1));
        assertThat(c.state()).isEqualTo(State.HEALTHY);
        assertThat(c.onResult(true, now())).isEqualTo(Transition.NONE);
        assertThat(unchecked.snapshot().candidates()).hasSize(1);
    }

    @Test
    void delaysWithoutJitterFollowTheStateHaproxyStyle() {
        HealthChecker c = checker(0, config(2, 3, 0));
        assertThat(c.nextProbeDelay()).as("first probe of a new endpoint at once").isZero();
        c.onResult(true, now());
        assertThat(c.nextProbeDelay()).isEqualTo(INTERVAL);
        c.onResult(false, now());
        assertThat(c.nextProbeDelay()).as("fastinter while going down").isEqualTo(UNHEALTHY_INTERVAL);
        c.onResult(true, now());
        assertThat(c.nextProbeDelay()).isEqualTo(INTERVAL);
        c.onResult(false, now());
        c.onResult(false, now());
        c.onResult(false, now());
        assertThat(c.state()).isEqualTo(State.UNHEALTHY);
        assertThat(c.nextProbeDelay()).isEqualTo(UNHEALTHY_INTERVAL);
        c.onResult(true, now());
        assertThat(c.nextProbeDelay()).as("still unhealthy while rising").isEqualTo(UNHEALTHY_INTERVAL);
    }

    @Test
    void jitteredDelaysStayWithinBoundsAndSpreadBothWays() {
        double jitter = 0.2;
        HealthChecker c = checker(0, config(1, 1, jitter));
        long firstMax = 0;
        for (int i = 0; i < 200; i++) {
            long d = c.nextProbeDelay().toNanos();
            assertThat(d).isBetween(0L, (long) (INTERVAL.toNanos() * jitter));
            firstMax = Math.max(firstMax, d);
        }
        assertThat(firstMax).isGreaterThan(INTERVAL.toNanos() / 10);

        c.onResult(true, now());
        assertSpread(c, INTERVAL, jitter);
        c.onResult(false, now());
        assertThat(c.state()).isEqualTo(State.UNHEALTHY);
        assertSpread(c, UNHEALTHY_INTERVAL, jitter);
    }

    private static void assertSpread(HealthChecker c, Duration base, double jitter) {
        long low = (long) (base.toNanos() * (1 - jitter));
        long high = (long) (base.toNanos() * (1 + jitter));
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < 1000; i++) {
            long d = c.nextProbeDelay().toNanos();
            assertThat(d).isBetween(low, high);
            min = Math.min(min, d);
            max = Math.max(max, d);
        }
        assertThat(min).as("some delays are shortened").isLessThan((long) (base.toNanos() * (1 - jitter / 2)));
        assertThat(max).as("some delays are lengthened").isGreaterThan((long) (base.toNanos() * (1 + jitter / 2)));
    }

    @Test
    void deadEndpointIsConfirmedWithinIntervalTimesThreshold() {
        // Probes driven by the checker's own delays, as the prober runs them: the endpoint dies right after a pass.
        HealthChecker c = checker(0, config(2, 3, 0.1));
        c.onResult(true, now());
        long diedAt = now();
        Transition t = Transition.NONE;
        for (int probes = 0; probes < 10 && t == Transition.NONE; probes++) {
            clock.advance(c.nextProbeDelay());
            t = c.onTimeout(now());
        }
        assertThat(t).isEqualTo(Transition.DOWN);
        assertThat(now() - diedAt).isLessThanOrEqualTo((long) (INTERVAL.toNanos() * 1.1) * 3);
        assertThat(now() - diedAt).as("fastinter after the first failure")
                .isLessThan((long) (INTERVAL.toNanos() * 1.1 + 2 * UNHEALTHY_INTERVAL.toNanos() * 1.1) + 1);
    }

    @Test
    void expectedStatusesComeFromTheConfig() {
        HealthChecker c = checker(1, config(1, 1, 0));
        assertThat(c.expectedStatus(200)).isTrue();
        assertThat(c.expectedStatus(204)).isTrue();
        assertThat(c.expectedStatus(301)).isFalse();
        assertThat(c.expectedStatus(503)).isFalse();
        assertThat(c.timeout()).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void reloadCarriesStateSoAnUnhealthyEndpointStillNeedsItsPasses() {
        HealthChecker before = checker(0, config(3, 1, 0));
        Member m = before.member();
        before.onResult(true, now());
        before.onResult(false, now());
        assertThat(before.state()).isEqualTo(State.UNHEALTHY);
        before.onResult(true, now());

        Pool reloaded = Pool.of("p", TestPools.FIRST, io.sluice.endpoint.EndpointSet.Options.DEFAULT, clock, true,
                pool.members().stream().map(Member::endpoint).toList(), Optional.of(pool));
        HealthChecker after = HealthChecker.of(reloaded, m, config(3, 1, 0), new SplittableRandom(1),
                Optional.of(before));

        assertThat(after.state()).isEqualTo(State.UNHEALTHY);
        assertThat(after.consecutivePasses()).isEqualTo(1);
        assertThat(after.probes()).isEqualTo(3);
        assertThat(after.onResult(true, now())).isEqualTo(Transition.NONE);
        assertThat(after.onResult(true, now())).as("third pass in a row, one of them before the reload")
                .isEqualTo(Transition.UP);
        assertThat(reloaded.snapshot().candidates()).contains(m);
    }

    @Test
    void carryOverRefusesAnotherMember() {
        HealthChecker first = checker(0, config(1, 1, 0));
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HealthChecker.of(pool, pool.members().get(1),
                config(1, 1, 0), new SplittableRandom(1), Optional.of(first)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
