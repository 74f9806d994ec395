package io.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.RetryConfig;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

class RetryBudgetTest {

    @Test
    void limitIsTheLargerOfTheFloorAndTheShareOfActiveRequests() {
        RetryBudget budget = RetryBudget.of(20, 3);
        assertThat(budget.limit(0)).isEqualTo(3);
        assertThat(budget.limit(10)).isEqualTo(3);
        assertThat(budget.limit(15)).isEqualTo(3);
        assertThat(budget.limit(20)).isEqualTo(4);
        assertThat(budget.limit(1000)).isEqualTo(200);
        assertThat(budget.limit(-5)).isEqualTo(3);
        assertThat(RetryBudget.of(RetryConfig.DEFAULT).limit(100)).isEqualTo(20);
        assertThat(RetryBudget.of(0, 0).limit(1000)).as("a zero budget allows no retry").isZero();
    }

    @Test
    void refusesPastTheLimitCountsRefusalsAndReleasesMakeRoom() {
        RetryBudget budget = RetryBudget.of(10, 2);
        assertThat(budget.tryAcquire(0)).isTrue();
        assertThat(budget.tryAcquire(0)).isTrue();
        assertThat(budget.tryAcquire(0)).isFalse();
        assertThat(budget.tryAcquire(29)).as("10 % of 29 is still 2").isFalse();
        assertThat(budget.tryAcquire(30)).as("10 % of 30 is 3").isTrue();
        assertThat(budget.inFlight()).isEqualTo(3);
        assertThat(budget.granted()).isEqualTo(3);
        assertThat(budget.rejected()).isEqualTo(2);

        budget.release();
        assertThat(budget.tryAcquire(0)).as("still at the floor of 2 with 2 out").isFalse();
        budget.release();
        assertThat(budget.tryAcquire(0)).isTrue();
        budget.release();
        budget.release();
        assertThat(budget.inFlight()).isZero();
    }

    @Test
    void releasingMoreThanAcquiredIsAnAccountingBug() {
        RetryBudget budget = RetryBudget.of(20, 3);
        assertThatThrownBy(budget::release).isInstanceOf(IllegalStateException.class);
        assertThat(budget.tryAcquire(0)).isTrue();
        budget.release();
        assertThatThrownBy(budget::release).isInstanceOf(IllegalStateException.class);
        assertThat(budget.inFlight()).isZero();
    }

    @Test
    void concurrentRetriesNeverExceedTheBudgetAndAllPermitsComeBack() throws InterruptedException {
        RetryBudget budget = RetryBudget.of(20, 3);
        int active = 50;
        int limit = budget.limit(active);
        AtomicInteger holders = new AtomicInteger();
        AtomicInteger maxHolders = new AtomicInteger();
        LongAdder attempts = new LongAdder();
        LongAdder spins = new LongAdder();
        Concurrently.run(4, 20_000, t -> {
            attempts.increment();
            if (budget.tryAcquire(active)) {
                int h = holders.incrementAndGet();
                maxHolders.accumulateAndGet(h, Math::max);
                assertThat(budget.inFlight()).isLessThanOrEqualTo(limit);
                for (int i = 0; i < 50; i++) {
                    spins.increment();
                }
                holders.decrementAndGet();
                budget.release();
            }
        });
        assertThat(budget.inFlight()).isZero();
        assertThat(budget.granted() + budget.rejected()).isEqualTo(attempts.sum());
        assertThat(maxHolders.get()).isBetween(1, limit);
        assertThat(budget.granted()).isPositive();
    }

    @Test
    void aFullBudgetUnderContentionGrantsExactlyTheLimit() throws InterruptedException {
        RetryBudget budget = RetryBudget.of(0, 7);
        Concurrently.run(4, 1_000, t -> budget.tryAcquire(0));
        assertThat(budget.inFlight()).isEqualTo(7);
        assertThat(budget.granted()).isEqualTo(7);
        assertThat(budget.rejected()).isEqualTo(4_000 - 7);
    }
}
