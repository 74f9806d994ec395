package io.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PendingQueueTest {

    private final ManualClock clock = ManualClock.start();

    @Test
    void waitersAreServedOldestFirstAndAFullQueueRefuses() {
        PendingQueue<String> q = PendingQueue.of(2, Duration.ofSeconds(1), clock);
        assertThat(q.offer("a")).isTrue();
        assertThat(q.offer("b")).isTrue();
        assertThat(q.offer("c")).isFalse();
        assertThat(q.overflows()).isEqualTo(1);
        assertThat(q.size()).isEqualTo(2);

        assertThat(q.poll()).hasValue("a");
        assertThat(q.offer("d")).isTrue();
        assertThat(q.poll()).hasValue("b");
        assertThat(q.poll()).hasValue("d");
        assertThat(q.poll()).isEmpty();
    }

    @Test
    void waitersExpireAtTheirDeadlineInArrivalOrder() {
        PendingQueue<String> q = PendingQueue.of(10, Duration.ofMillis(100), clock);
        q.offer("a");
        clock.advance(Duration.ofMillis(30));
        q.offer("b");
        assertThat(q.nextDeadlineNanos()).hasValue(Duration.ofMillis(100).toNanos());

        List<String> timedOut = new ArrayList<>();
        clock.advance(Duration.ofMillis(69));
        assertThat(q.expire(timedOut::add)).isZero();
        clock.advance(Duration.ofMillis(1));
        assertThat(q.expire(timedOut::add)).isEqualTo(1);
        assertThat(timedOut).containsExactly("a");
        assertThat(q.nextDeadlineNanos()).hasValue(Duration.ofMillis(130).toNanos());

        clock.advance(Duration.ofSeconds(5));
        q.expire(timedOut::add);
        assertThat(timedOut).containsExactly("a", "b");
        assertThat(q.timeouts()).isEqualTo(2);
        assertThat(q.size()).isZero();
        assertThat(q.nextDeadlineNanos()).isEmpty();
    }

    @Test
    void aWaiterLeavesExactlyOneWay() {
        PendingQueue<String> q = PendingQueue.of(10, Duration.ofMillis(100), clock);
        q.offer("late");
        q.offer("gone");
        clock.advance(Duration.ofMillis(200));
        assertThat(q.poll()).as("still waiting until expired: served late").hasValue("late");
        assertThat(q.remove("gone")).isTrue();
        assertThat(q.remove("gone")).isFalse();
        List<String> timedOut = new ArrayList<>();
        assertThat(q.expire(timedOut::add)).isZero();
        assertThat(timedOut).isEmpty();
        assertThat(q.timeouts()).isZero();
    }

    @Test
    void zeroCapacityMeansNobodyWaits() {
        PendingQueue<Object> q = PendingQueue.of(0, Duration.ofSeconds(1), clock);
        assertThat(q.offer(new Object())).isFalse();
        assertThat(q.overflows()).isEqualTo(1);
        assertThat(q.capacity()).isZero();
        assertThat(q.timeout()).isEqualTo(Duration.ofSeconds(1));
    }
}
