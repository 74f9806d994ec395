package io.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.Pool;
import io.sluice.config.OutlierConfig;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.resilience.UpstreamFailure;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutlierDetectorTest {

    private static final Duration BASE = Duration.ofSeconds(10);

    private final ManualClock clock = ManualClock.start();

    private static OutlierConfig config(int errors, int gateway, Duration max, int percent) {
        return new OutlierConfig(errors, gateway, BASE, max, percent, Duration.ofSeconds(30));
    }

    private long now() {
        return clock.nanoTime();
    }

    private void fail(OutlierDetector d, Member m, int times) {
        for (int i = 0; i < times; i++) {
            d.onResponse(m, 503, now());
        }
    }

    @Test
    void consecutiveGatewayErrorsEjectAndASuccessResetsTheCount() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 3, BASE, 100), Optional.empty());
        Member m = pool.members().get(1);

        d.onResponse(m, 502, now());
        d.onResponse(m, 504, now());
        d.onResponse(m, 200, now());
        d.onResponse(m, 503, now());
        d.onResponse(m, 503, now());
        assertThat(d.ejected(m)).isFalse();
        assertThat(pool.snapshot().candidates()).contains(m);

        d.onResponse(m, 503, now());
        assertThat(d.ejected(m)).isTrue();
        assertThat(m.ejected(now())).isTrue();
        assertThat(pool.snapshot().candidates()).doesNotContain(m).hasSize(3);
        assertThat(d.ejections(m)).isEqualTo(1);
        assertThat(d.ejectionsTotal()).isEqualTo(1);
        assertThat(d.activeEjections()).isEqualTo(1);
    }

    @Test
    void localFailuresAreGatewayErrors() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 3, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        d.onFailure(m, UpstreamFailure.CONNECT_FAILURE, now());
        d.onFailure(m, UpstreamFailure.TIMEOUT, now());
        assertThat(d.ejected(m)).isFalse();
        d.onFailure(m, UpstreamFailure.RESET_BEFORE_RESPONSE, now());
        assertThat(d.ejected(m)).isTrue();
    }

    @Test
    void a500ResetsTheGatewayCountButCountsAsAnError() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(5, 3, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        d.onResponse(m, 502, now());
        d.onResponse(m, 502, now());
        d.onResponse(m, 500, now());
        d.onResponse(m, 502, now());
        assertThat(d.ejected(m)).as("gateway streak broken by the 500").isFalse();
        d.onResponse(m, 500, now());
        assertThat(d.ejected(m)).as("five 5xx in a row").isTrue();
    }

    @Test
    void nonServerErrorsNeverEject() {
        Pool pool = TestPools.of(2, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(2, 2, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        for (int status : new int[] {404, 429, 400, 301, 404, 429}) {
            d.onResponse(m, status, now());
        }
        assertThat(d.ejected(m)).isFalse();
        assertThat(d.ejectionsTotal()).isZero();
    }

    @Test
    void ejectionEndsAtTheSweepAfterItsTime() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, Duration.ofSeconds(300), 100), Optional.empty());
        Member m = pool.members().get(2);
        fail(d, m, 1);
        assertThat(d.nextUnejectionNanos()).hasValue(now() + BASE.toNanos());

        clock.advance(BASE.minusMillis(1));
        assertThat(d.sweep(now())).isEmpty();
        assertThat(pool.snapshot().candidates()).doesNotContain(m);

        clock.advance(Duration.ofMillis(1));
        assertThat(d.sweep(now())).containsExactly(m);
        assertThat(d.ejected(m)).isFalse();
        assertThat(pool.snapshot().candidates()).contains(m);
        assertThat(m.usableSinceNanos()).isEqualTo(now());
        assertThat(d.activeEjections()).isZero();
        assertThat(d.nextUnejectionNanos()).isEmpty();
    }

    @Test
    void repeatedEjectionsLastBaseTimesNCappedAtMax() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, Duration.ofSeconds(25), 100), Optional.empty());
        Member m = pool.members().get(0);
        long[] expectedSeconds = {10, 20, 25, 25, 25};
        for (long seconds : expectedSeconds) {
            long start = now();
            fail(d, m, 1);
            assertThat(d.nextUnejectionNanos()).hasValue(start + TimeUnit.SECONDS.toNanos(seconds));
            clock.advance(Duration.ofSeconds(seconds));
            assertThat(d.sweep(now())).containsExactly(m);
            clock.advance(Duration.ofSeconds(1));
        }
        assertThat(d.ejections(m)).isEqualTo(5);
        assertThat(d.multiplier(m, now())).as("n stops growing at the cap").isEqualTo(3);
    }

    @Test
    void multiplierDecaysByOnePerQuietInterval() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, Duration.ofSeconds(300), 100), Optional.empty());
        Member m = pool.members().get(0);
        for (int i = 1; i <= 3; i++) {
            fail(d, m, 1);
            clock.advance(BASE.multipliedBy(i));
            d.sweep(now());
        }
        assertThat(d.multiplier(m, now())).isEqualTo(3);

        clock.advance(Duration.ofSeconds(29));
        d.sweep(now());
        assertThat(d.multiplier(m, now())).isEqualTo(3);
        clock.advance(Duration.ofSeconds(1));
        assertThat(d.multiplier(m, now())).isEqualTo(2);
        clock.advance(Duration.ofSeconds(30));
        assertThat(d.multiplier(m, now())).isEqualTo(1);

        long start = now();
        fail(d, m, 1);
        assertThat(d.nextUnejectionNanos()).as("next ejection is base × 2 after decay to 1")
                .hasValue(start + BASE.multipliedBy(2).toNanos());
    }

    @Test
    void decayDoesNotDependOnHowOftenTheSweepRuns() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector frequent = OutlierDetector.of(pool, config(0, 1, Duration.ofSeconds(300), 100),
                Optional.empty());
        Pool other = TestPools.of(4, clock, false);
        OutlierDetector rare = OutlierDetector.of(other, config(0, 1, Duration.ofSeconds(300), 100),
                Optional.empty());
        Member a = pool.members().get(0);
        Member b = other.members().get(0);
        for (int i = 1; i <= 4; i++) {
            fail(frequent, a, 1);
            fail(rare, b, 1);
            clock.advance(BASE.multipliedBy(i));
            frequent.sweep(now());
            rare.sweep(now());
        }
        for (int i = 0; i < 70; i++) {
            clock.advance(Duration.ofSeconds(1));
            frequent.sweep(now());
        }
        rare.sweep(now());
        assertThat(frequent.multiplier(a, now())).isEqualTo(2).isEqualTo(rare.multiplier(b, now()));
    }

    @Test
    void neverEjectsMoreThanMaxEjectionPercent() {
        Pool pool = TestPools.of(10, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, BASE, 20), Optional.empty());
        for (Member m : pool.members()) {
            fail(d, m, 1);
        }
        assertThat(d.activeEjections()).isEqualTo(2);
        assertThat(d.overflows()).isEqualTo(8);
        assertThat(pool.snapshot().candidates()).hasSize(8);
    }

    @Test
    void oneEndpointMayAlwaysBeEjectedAsInEnvoy() {
        Pool pool = TestPools.of(3, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 2, BASE, 10), Optional.empty());
        Member first = pool.members().get(0);
        Member second = pool.members().get(1);
        fail(d, first, 2);
        assertThat(d.ejected(first)).as("33 % > 10 %, but nothing is ejected yet").isTrue();
        fail(d, second, 2);
        assertThat(d.ejected(second)).isFalse();
        assertThat(d.overflows()).isEqualTo(1);

        fail(d, second, 1);
        assertThat(d.overflows()).as("a refused ejection restarts the count").isEqualTo(1);

        clock.advance(BASE);
        d.sweep(now());
        fail(d, second, 2);
        assertThat(d.ejected(second)).as("room again once the first is back").isTrue();
    }

    @Test
    void resultsWhileEjectedAreIgnoredAndCountsRestartAfterReturn() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 3, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        fail(d, m, 3);
        assertThat(d.ejected(m)).isTrue();
        fail(d, m, 10);
        assertThat(d.ejections(m)).isEqualTo(1);
        assertThat(d.nextUnejectionNanos()).hasValue(BASE.toNanos());

        clock.advance(BASE);
        d.sweep(now());
        fail(d, m, 2);
        assertThat(d.ejected(m)).isFalse();
        fail(d, m, 1);
        assertThat(d.ejected(m)).isTrue();
        assertThat(d.ejections(m)).isEqualTo(2);
    }

    @Test
    void tooManyEjectionsPutThePoolInPanic() {
        Pool pool = TestPools.of(4, 0, clock, false, new EndpointSet.Options(0.5, Duration.ZERO, 0.1));
        PoolModeTracker modes = PoolModeTracker.watch(pool);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, BASE, 100), Optional.empty());
        fail(d, pool.members().get(0), 1);
        fail(d, pool.members().get(1), 1);
        assertThat(pool.snapshot().mode()).isEqualTo(EndpointSet.Mode.NORMAL);
        fail(d, pool.members().get(2), 1);

        assertThat(pool.snapshot().mode()).isEqualTo(EndpointSet.Mode.PANIC);
        assertThat(pool.snapshot().candidates()).as("panic routes to every enabled endpoint").hasSize(4);
        assertThat(modes.entries(EndpointSet.Mode.PANIC)).isEqualTo(1);

        clock.advance(BASE);
        d.sweep(now());
        assertThat(modes.current()).isEqualTo(EndpointSet.Mode.NORMAL);
        assertThat(modes.entries(EndpointSet.Mode.NORMAL)).isEqualTo(1);
    }

    @Test
    void concurrentFailuresEjectExactlyOnce() throws Exception {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(5, 5, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < 5_000; i++) {
                    d.onFailure(m, UpstreamFailure.CONNECT_FAILURE, 0);
                }
            });
            w.start();
            workers.add(w);
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(20));
            assertThat(w.isAlive()).isFalse();
        }
        assertThat(d.ejections(m)).isEqualTo(1);
        assertThat(d.activeEjections()).isEqualTo(1);
    }

    @Test
    void ejectionStateCarriesOverAReload() {
        Pool pool = TestPools.of(3, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, BASE, 100), Optional.empty());
        Member m = pool.members().get(1);
        fail(d, m, 1);

        Pool reloaded = Pool.of("test", TestPools.FIRST, EndpointSet.Options.DEFAULT, clock, false,
                List.of(pool.members().get(1).endpoint(), pool.members().get(2).endpoint()), Optional.of(pool));
        OutlierDetector next = OutlierDetector.of(reloaded, config(0, 1, BASE, 100), Optional.of(d));
        assertThat(reloaded.snapshot().candidates()).doesNotContain(m).hasSize(1);
        assertThat(next.ejected(m)).isTrue();
        assertThat(next.activeEjections()).isEqualTo(1);
        assertThat(next.ejectionsTotal()).isEqualTo(1);

        clock.advance(BASE);
        assertThat(next.sweep(now())).containsExactly(m);
        assertThat(reloaded.snapshot().candidates()).contains(m).hasSize(2);
    }

    @Test
    void membersThatLeaveThePoolAreForgotten() {
        Pool pool = TestPools.of(3, clock, false);
        OutlierDetector d = OutlierDetector.of(pool, config(0, 1, BASE, 100), Optional.empty());
        Member m = pool.members().get(0);
        fail(d, m, 1);
        pool.remove(m.address());
        assertThat(d.sweep(now())).isEmpty();
        assertThat(d.activeEjections()).isZero();
        assertThat(d.nextUnejectionNanos()).isEmpty();
        assertThat(d.ejections(m)).isZero();
    }

    @Test
    void ejectionByTheReplacedDetectorIsCountedByTheNewOneAtItsNextSweep() {
        Pool pool = TestPools.of(4, clock, false);
        OutlierDetector old = OutlierDetector.of(pool, config(0, 3, BASE, 25), Optional.empty());
        Member m = pool.members().get(0);
        old.onResponse(m, 200, now());
        Pool reloaded = Pool.of("p", TestPools.FIRST, EndpointSet.Options.DEFAULT, clock, false,
                pool.members().stream().map(Member::endpoint).toList(), Optional.of(pool));
        OutlierDetector current = OutlierDetector.of(reloaded, config(0, 3, BASE, 25), Optional.of(old));

        // A request of the old config, still in flight at the reload, ends the streak on the old detector.
        fail(old, m, 3);
        assertThat(current.ejected(m)).as("the trackers are shared").isTrue();
        current.sweep(now());
        assertThat(current.activeEjections()).isEqualTo(1);
        fail(current, reloaded.members().get(1), 3);
        assertThat(current.ejected(reloaded.members().get(1))).as("25 % of four: one at a time").isFalse();

        clock.advance(BASE);
        assertThat(current.sweep(now())).containsExactly(m);
        assertThat(current.activeEjections()).as("never negative").isZero();
    }
}
