package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.InferenceConfig;
import io.sluice.inference.FlowController.Outcome;
import io.sluice.inference.FlowController.ShedReason;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FlowControllerTest {

    private record Req(String name, int priority, String tenant) {
    }

    private final ManualClock clock = ManualClock.start();
    private final List<String> refused = new ArrayList<>();
    private final List<Long> retryAfter = new ArrayList<>();
    private final List<String> sent = new ArrayList<>();
    private int capacity;

    private FlowController<Req> queue(int max, Duration timeout) {
        return FlowController.of("llm", new InferenceConfig.FlowControl(max, timeout), clock,
                (r, reason, after) -> {
                    refused.add(r.name() + ":" + reason.label());
                    retryAfter.add(after);
                });
    }

    private FlowController<Req> shortestFirst(double aging) {
        return FlowController.of("llm", new InferenceConfig.FlowControl(1000, Duration.ofSeconds(30),
                        InferenceConfig.QueueOrder.SHORTEST_FIRST, aging), clock,
                (r, reason, after) -> refused.add(r.name() + ":" + reason.label()));
    }

    /** A pool with {@link #capacity} free slots. */
    private boolean place(Req r) {
        if (capacity == 0) {
            return false;
        }
        capacity--;
        sent.add(r.name());
        return true;
    }

    private Outcome submit(FlowController<Req> q, Req r) {
        return q.submit(r, r.priority(), r.tenant(), this::place);
    }

    @Test
    void dispatchesAtOnceWhileThereIsRoom() {
        FlowController<Req> q = queue(10, Duration.ofSeconds(30));
        capacity = 1;
        assertThat(submit(q, new Req("a", 0, "t"))).isEqualTo(Outcome.DISPATCHED);
        assertThat(submit(q, new Req("b", 0, "t"))).isEqualTo(Outcome.QUEUED);
        assertThat(q.size()).isEqualTo(1);
        // Room frees, but a newcomer of the same priority queues behind b.
        capacity = 1;
        assertThat(submit(q, new Req("c", 0, "t"))).isEqualTo(Outcome.QUEUED);
        assertThat(sent).containsExactly("a", "b");
        assertThat(q.size()).isEqualTo(1);
    }

    @Test
    void requestsThatLeftTheQueueAreNotKeptReachable() {
        FlowController<Req> q = queue(100_000, Duration.ofSeconds(30));
        capacity = 0;
        for (int i = 0; i < 10_000; i++) {
            submit(q, new Req("r" + i, 1, "t"));
        }
        // A lower-priority request waits while the burst above it drains.
        submit(q, new Req("low", 0, "slow"));
        capacity = 10_000;
        q.dispatch(this::place);
        assertThat(q.size()).isEqualTo(1);
        assertThat(q.arrivalEntries()).as("drained entries (and their requests) no longer referenced")
                .isLessThanOrEqualTo(2 * q.size() + 64);
        capacity = 1;
        q.dispatch(this::place);
        assertThat(q.size()).isZero();
        assertThat(q.arrivalEntries()).isZero();
    }

    @Test
    void higherPriorityLeavesFirst() {
        FlowController<Req> q = queue(100, Duration.ofSeconds(30));
        submit(q, new Req("low1", 0, "t"));
        submit(q, new Req("high1", 10, "t"));
        submit(q, new Req("mid", 5, "t"));
        submit(q, new Req("low2", 0, "t"));
        submit(q, new Req("high2", 10, "t"));
        assertThat(q.sizes()).containsExactly(Map.entry(10, 2), Map.entry(5, 1), Map.entry(0, 2));
        capacity = 5;
        assertThat(q.dispatch(this::place)).isEqualTo(5);
        assertThat(sent).containsExactly("high1", "high2", "mid", "low1", "low2");
        assertThat(q.sizes()).isEmpty();
    }

    @Test
    void higherPriorityJumpsAheadOfQueuedLowerPriority() {
        FlowController<Req> q = queue(100, Duration.ofSeconds(30));
        submit(q, new Req("low", 0, "t"));
        capacity = 1;
        assertThat(submit(q, new Req("urgent", 9, "t"))).isEqualTo(Outcome.DISPATCHED);
        assertThat(sent).containsExactly("urgent");
    }

    @Test
    void tenantsSendingTenToOneGetEqualSharesWhileBothAreBacklogged() {
        FlowController<Req> q = queue(10_000, Duration.ofMinutes(10));
        Map<String, Integer> served = new HashMap<>();
        int n = 0;
        for (int round = 0; round < 200; round++) {
            for (int k = 0; k < 10; k++) {
                submit(q, new Req("big-" + n++, 0, "big"));
            }
            submit(q, new Req("small-" + n++, 0, "small"));
            // The servers free two slots per round: far less than the 11 that arrive.
            capacity = 2;
            q.dispatch(r -> {
                boolean ok = place(r);
                if (ok) {
                    served.merge(r.tenant(), 1, Integer::sum);
                }
                return ok;
            });
        }
        int big = served.get("big");
        int small = served.get("small");
        assertThat(big + small).isEqualTo(400);
        assertThat(Math.abs(big - small)).isLessThanOrEqualTo((big + small) / 10);
    }

    @Test
    void sheddableRequestsAreRefusedAtOnceUnderSaturation() {
        FlowController<Req> q = queue(100, Duration.ofSeconds(30));
        capacity = 1;
        assertThat(submit(q, new Req("free", -1, "t"))).isEqualTo(Outcome.DISPATCHED);
        assertThat(submit(q, new Req("shed", -1, "t"))).isEqualTo(Outcome.SHED_SHEDDABLE);
        assertThat(q.size()).isZero();
        assertThat(q.shed(ShedReason.SHEDDABLE)).isEqualTo(1);
    }

    @Test
    void requestsTimeOutWithRetryAfter() {
        FlowController<Req> q = queue(100, Duration.ofSeconds(5));
        submit(q, new Req("a", 0, "t"));
        clock.advance(Duration.ofSeconds(2));
        submit(q, new Req("b", 0, "t"));
        assertThat(q.nextDeadlineNanos()).isEqualTo(Duration.ofSeconds(5).toNanos());
        assertThat(q.oldestWaitNanos()).isEqualTo(Duration.ofSeconds(2).toNanos());
        clock.advance(Duration.ofSeconds(3));
        assertThat(q.expire()).isEqualTo(1);
        assertThat(refused).containsExactly("a:timeout");
        assertThat(retryAfter.get(0)).isBetween(1L, 5L);
        assertThat(q.nextDeadlineNanos()).isEqualTo(Duration.ofSeconds(7).toNanos());
        clock.advance(Duration.ofSeconds(2));
        q.expire();
        assertThat(refused).containsExactly("a:timeout", "b:timeout");
        assertThat(q.shed(ShedReason.TIMEOUT)).isEqualTo(2);
        assertThat(q.nextDeadlineNanos()).isEqualTo(Long.MAX_VALUE);
    }

    @Test
    void aFullQueueRefusesOrDisplacesTheLowestPriority() {
        FlowController<Req> q = queue(2, Duration.ofSeconds(30));
        submit(q, new Req("low-old", 0, "t"));
        submit(q, new Req("low-new", 0, "u"));
        assertThat(submit(q, new Req("same", 0, "t"))).isEqualTo(Outcome.REJECTED_FULL);
        assertThat(q.shed(ShedReason.QUEUE_FULL)).isEqualTo(1);
        assertThat(submit(q, new Req("high", 5, "t"))).isEqualTo(Outcome.QUEUED);
        assertThat(refused).containsExactly("low-new:displaced");
        assertThat(q.sizes()).containsExactly(Map.entry(5, 1), Map.entry(0, 1));
    }

    @Test
    void cancelledRequestsLeaveQuietly() {
        FlowController<Req> q = queue(10, Duration.ofSeconds(30));
        Req a = new Req("a", 0, "t");
        submit(q, a);
        submit(q, new Req("b", 0, "t"));
        assertThat(q.cancel(a)).isTrue();
        assertThat(q.cancel(a)).isFalse();
        capacity = 5;
        q.dispatch(this::place);
        assertThat(sent).containsExactly("b");
        clock.advance(Duration.ofMinutes(1));
        assertThat(q.expire()).isZero();
        assertThat(refused).isEmpty();
    }

    @Test
    void retryAfterFollowsTheDispatchRate() {
        FlowController<Req> q = queue(1000, Duration.ofSeconds(60));
        for (int i = 0; i < 40; i++) {
            submit(q, new Req("r" + i, 1, "t"));
        }
        for (int i = 0; i < 10; i++) {
            clock.advance(Duration.ofMillis(500));   // two per second
            capacity = 1;
            q.dispatch(this::place);
        }
        // 30 left at about 2 per second: about 15 s.
        assertThat(q.retryAfterSeconds()).isBetween(12L, 18L);
        assertThat(q.dispatchedAndWaitNanos()[0]).isEqualTo(10);
    }

    @Test
    void aBudgetPacesHowManyLeave() {
        FlowController<Req> q = shortestFirst(0.03);
        for (int i = 0; i < 5; i++) {
            q.submit(new Req("r" + i, 0, "t"), 0, "t", 0.1 * (5 - i), this::place);
        }
        capacity = 10;   // the pool could take them all; the budget lets two go, cheapest first
        assertThat(q.dispatch(this::place, 2)).isEqualTo(2);
        assertThat(sent).containsExactly("r4", "r3");
        assertThat(q.dispatch(this::place, 0)).isZero();
        assertThat(q.size()).isEqualTo(3);
        // The pool's saturation still stops a round before the budget does.
        capacity = 1;
        assertThat(q.dispatch(this::place, 5)).isEqualTo(1);
        assertThat(q.size()).isEqualTo(2);
    }

    @Test
    void theCostIsAskedForOnlyWhenARequestIsQueued() {
        int[] asked = {0};
        FlowController<Req> q = shortestFirst(0.03);
        capacity = 1;
        q.submit(new Req("a", 0, "t"), 0, "t", () -> ++asked[0], this::place);
        assertThat(asked[0]).isZero();   // sent at once: no prefix lookup on the fast path
        q.submit(new Req("b", 0, "t"), 0, "t", () -> ++asked[0], this::place);
        assertThat(asked[0]).isEqualTo(1);
        FlowController<Req> fifo = FlowController.of("llm", new InferenceConfig.FlowControl(10,
                Duration.ofSeconds(30), InferenceConfig.QueueOrder.FAIR_FIFO, 1.0), clock, (r, reason, after) -> { });
        fifo.submit(new Req("c", 0, "t"), 0, "t", () -> ++asked[0], this::place);
        assertThat(asked[0]).isEqualTo(1);   // fair-fifo never needs it
        assertThat(fifo.size()).isEqualTo(1);
    }

    @Test
    void fairFifoIgnoresTheCost() {
        FlowController<Req> q = FlowController.of("llm", new InferenceConfig.FlowControl(100, Duration.ofSeconds(30),
                InferenceConfig.QueueOrder.FAIR_FIFO, 1.0), clock, (r, reason, after) -> refused.add(r.name()));
        q.submit(new Req("long", 0, "t"), 0, "t", 5.0, this::place);
        q.submit(new Req("short", 0, "t"), 0, "t", 0.1, this::place);
        capacity = 2;
        q.dispatch(this::place);
        assertThat(sent).containsExactly("long", "short");
    }

    @Test
    void shortestFirstSendsTheLeastPrefillFirst() {
        FlowController<Req> q = shortestFirst(1.0);
        double[] costs = {0.8, 0.2, 0.5, 0.2, 0.05};
        for (int i = 0; i < costs.length; i++) {
            q.submit(new Req("r" + i, 0, "t"), 0, "t", costs[i], this::place);
        }
        capacity = 5;
        assertThat(q.dispatch(this::place)).isEqualTo(5);
        // Cheapest first; equal costs in arrival order.
        assertThat(sent).containsExactly("r4", "r1", "r3", "r2", "r0");
    }

    @Test
    void agingBoundsHowLongARequestCanBeOvertaken() {
        // aging 0.5: a request of 2 s predicted prefill is overtaken only by arrivals less than 4 s after it.
        FlowController<Req> q = shortestFirst(0.5);
        q.submit(new Req("long", 0, "t"), 0, "t", 2.0, this::place);
        List<String> overtook = new ArrayList<>();
        for (int step = 1; step <= 20; step++) {
            clock.advance(Duration.ofMillis(500));
            q.submit(new Req("tiny" + step, 0, "t"), 0, "t", 0.0, this::place);
            capacity = 1;   // one slot frees per half second: the queue stays backlogged
            q.dispatch(this::place);
            if (sent.contains("long")) {
                break;
            }
            overtook.add(sent.get(sent.size() - 1));
        }
        // tiny1..tiny7 arrived 0.5-3.5 s after it and went first; tiny8, 4 s after, ties and waits behind it.
        assertThat(overtook).containsExactly("tiny1", "tiny2", "tiny3", "tiny4", "tiny5", "tiny6", "tiny7");
        assertThat(sent).endsWith("long");
        capacity = 1;
        q.dispatch(this::place);
        assertThat(sent).endsWith("long", "tiny8");
        assertThat(refused).isEmpty();
    }

    @Test
    void shortestFirstKeepsPriorityBandsAbsolute() {
        FlowController<Req> q = shortestFirst(1.0);
        q.submit(new Req("low-cheap", 0, "t"), 0, "t", 0.01, this::place);
        q.submit(new Req("high-costly", 10, "t"), 10, "t", 9.0, this::place);
        q.submit(new Req("high-cheap", 10, "t"), 10, "t", 1.0, this::place);
        capacity = 3;
        q.dispatch(this::place);
        assertThat(sent).containsExactly("high-cheap", "high-costly", "low-cheap");
    }

    @Test
    void shortestFirstKeepsTenantTurns() {
        // The big tenant sends cheap requests, the small one costly ones: turns still alternate, and each tenant's
        // own queue is ordered by cost.
        FlowController<Req> q = shortestFirst(1.0);
        for (int i = 0; i < 10; i++) {
            q.submit(new Req("big-" + i, 0, "big"), 0, "big", 0.01 * (10 - i), this::place);
        }
        q.submit(new Req("small-a", 0, "small"), 0, "small", 5.0, this::place);
        q.submit(new Req("small-b", 0, "small"), 0, "small", 3.0, this::place);
        capacity = 4;
        q.dispatch(this::place);
        assertThat(sent).containsExactly("big-9", "small-b", "big-8", "small-a");
    }

    @Test
    void shortestFirstStillTimesOutAndDisplacesTheNewest() {
        FlowController<Req> q = FlowController.of("llm", new InferenceConfig.FlowControl(2, Duration.ofSeconds(5),
                        InferenceConfig.QueueOrder.SHORTEST_FIRST, 1.0), clock,
                (r, reason, after) -> refused.add(r.name() + ":" + reason.label()));
        q.submit(new Req("old-costly", 0, "t"), 0, "t", 9.0, this::place);
        clock.advance(Duration.ofSeconds(1));
        q.submit(new Req("new-cheap", 0, "t"), 0, "t", 0.1, this::place);
        assertThat(q.submit(new Req("high", 5, "t"), 5, "t", 1.0, this::place)).isEqualTo(Outcome.QUEUED);
        assertThat(refused).containsExactly("new-cheap:displaced");
        clock.advance(Duration.ofSeconds(4));
        assertThat(q.expire()).isEqualTo(1);
        assertThat(refused).containsExactly("new-cheap:displaced", "old-costly:timeout");
        assertThat(q.sizes()).containsExactly(Map.entry(5, 1));
    }
}
