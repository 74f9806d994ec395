package io.sluice.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.Pool;
import io.sluice.config.HealthCheckConfig;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.EndpointSet.Mode;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PoolModeTrackerTest {

    private final ManualClock clock = ManualClock.start();

    private static final HealthCheckConfig CHECK = new HealthCheckConfig(HealthCheckConfig.Type.TCP, "/",
            Optional.empty(), List.of(new HealthCheckConfig.StatusRange(200, 299)), Duration.ofSeconds(1),
            Duration.ofMillis(500), Duration.ofMillis(200), 1, 1, 0, "");

    private List<HealthChecker> checkers(Pool pool) {
        List<HealthChecker> all = new ArrayList<>();
        for (Member m : pool.members()) {
            all.add(HealthChecker.of(pool, m, CHECK, new SplittableRandom(7)));
        }
        return all;
    }

    @Test
    void healthChecksFailingBelowThePanicThresholdPanicAndRecovery() {
        Pool pool = TestPools.of(4, 0, clock, false, new EndpointSet.Options(0.5, Duration.ZERO, 0.1));
        PoolModeTracker modes = PoolModeTracker.watch(pool);
        List<HealthChecker> checkers = checkers(pool);
        assertThat(modes.current()).isEqualTo(Mode.NORMAL);

        checkers.get(0).onResult(false, 0);
        checkers.get(1).onResult(false, 0);
        assertThat(modes.current()).as("half usable is not below 50 %").isEqualTo(Mode.NORMAL);
        checkers.get(2).onResult(false, 0);
        assertThat(modes.current()).isEqualTo(Mode.PANIC);
        assertThat(pool.snapshot().candidates()).hasSize(4);

        checkers.get(3).onResult(false, 0);
        assertThat(modes.entries(Mode.PANIC)).as("staying in panic is one entry").isEqualTo(1);

        for (HealthChecker c : checkers) {
            c.onResult(true, 1);
        }
        assertThat(modes.current()).isEqualTo(Mode.NORMAL);
        assertThat(modes.entries(Mode.NORMAL)).isEqualTo(1);
        assertThat(modes.entries()).containsEntry(Mode.PANIC, 1L).containsEntry(Mode.EMPTY, 0L);
    }

    @Test
    void backupsTakeOverWhenNoPrimaryIsUsableAndThePoolEmptiesWhenTheyFailToo() {
        Pool pool = TestPools.of(2, 1, clock, false, EndpointSet.Options.DEFAULT);
        PoolModeTracker modes = PoolModeTracker.watch(pool);
        List<HealthChecker> checkers = checkers(pool);

        checkers.get(0).onResult(false, 0);
        assertThat(modes.current()).isEqualTo(Mode.NORMAL);
        checkers.get(1).onResult(false, 0);
        assertThat(modes.current()).isEqualTo(Mode.BACKUP);
        assertThat(pool.snapshot().candidates()).containsExactly(pool.members().get(2));

        checkers.get(2).onResult(false, 0);
        assertThat(modes.current()).isEqualTo(Mode.EMPTY);
        assertThat(modes.entries(Mode.BACKUP)).isEqualTo(1);
        assertThat(modes.entries(Mode.EMPTY)).isEqualTo(1);
    }

    @Test
    void rebuildsWithoutAModeChangeCountNothing() {
        Pool pool = TestPools.of(3, clock, false);
        PoolModeTracker modes = PoolModeTracker.watch(pool);
        for (int i = 0; i < 10; i++) {
            pool.rebuild();
        }
        assertThat(modes.entries().values()).allMatch(n -> n == 0L);
    }

    @Test
    void reloadedPoolKeepsCountsAndCountsAModeChangeAcrossTheReload() {
        Pool pool = TestPools.of(2, 0, clock, false, EndpointSet.Options.DEFAULT);
        PoolModeTracker modes = PoolModeTracker.watch(pool);
        List<HealthChecker> checkers = checkers(pool);
        checkers.get(0).onResult(false, 0);
        checkers.get(1).onResult(false, 0);
        assertThat(modes.entries(Mode.EMPTY)).isEqualTo(1);

        checkers.get(0).onResult(true, 1);
        Pool reloaded = Pool.of("p", TestPools.FIRST, EndpointSet.Options.DEFAULT, clock, false,
                pool.members().stream().map(Member::endpoint).toList(), Optional.of(pool));
        PoolModeTracker after = PoolModeTracker.watch(reloaded, Optional.of(modes));
        assertThat(after.entries(Mode.EMPTY)).isEqualTo(1);
        assertThat(after.entries(Mode.NORMAL)).isEqualTo(1);
        assertThat(after.current()).isEqualTo(Mode.NORMAL);
    }
}
