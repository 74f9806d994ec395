package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.PoolConfig;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** What every policy promises, whatever its algorithm. */
class PolicyContractTest {

    private static final Set<String> INFERENCE = Set.of("inference", "llm-d", "sglang-cache-aware");
    private static final Set<String> UNWEIGHTED = Set.of("round-robin", "least-connections");

    private final ManualClock clock = ManualClock.start();

    static Stream<String> policies() {
        return PoolConfig.POLICIES.stream().filter(p -> !INFERENCE.contains(p));
    }

    static Stream<String> weightedPolicies() {
        return policies().filter(p -> !UNWEIGHTED.contains(p));
    }

    private LoadBalancer balancer(String policy) {
        return Balancers.of(Fixtures.config(policy, 3), Fixtures.seeded(11), clock);
    }

    @ParameterizedTest
    @MethodSource("policies")
    void retriesGoElsewhere(String policy) {
        Pool pool = Fixtures.pool(balancer(policy), clock, 1, 2, 3);
        SplittableRandom keys = new SplittableRandom(5);
        PickContext ctx = new PickContext();
        for (int request = 0; request < 200; request++) {
            ctx.reset().hash(keys.nextLong());
            Member first = pool.select(ctx);
            Member second = pool.select(ctx.exclude(first));
            Member third = pool.select(ctx.exclude(second));
            assertThat(Set.of(first, second, third)).as("request %d", request).hasSize(3);
            // Everything tried: the pick still succeeds.
            assertThat(pool.select(ctx.exclude(third))).isIn(first, second, third);
        }
    }

    @ParameterizedTest
    @MethodSource("policies")
    void emptyPoolSaysItHasNoEndpoints(String policy) {
        Pool pool = Fixtures.pool(balancer(policy), clock);
        assertThatThrownBy(() -> pool.select(new PickContext().hash(1)))
                .isInstanceOfSatisfying(NoEndpointException.class,
                        e -> assertThat(e.reason()).isEqualTo(NoEndpointException.Reason.NO_ENDPOINTS));
        assertThatThrownBy(() -> pool.select(new PickContext()))
                .isInstanceOf(NoEndpointException.class);
    }

    @ParameterizedTest
    @MethodSource("policies")
    void poolWithNothingHealthySaysSo(String policy) {
        Pool pool = Pool.of("test", balancer(policy), EndpointSet.Options.DEFAULT, clock, true,
                Fixtures.endpoints(1, 1), Optional.empty());
        assertThatThrownBy(() -> pool.select(new PickContext().hash(1)))
                .isInstanceOfSatisfying(NoEndpointException.class,
                        e -> assertThat(e.reason()).isEqualTo(NoEndpointException.Reason.NONE_USABLE));
    }

    @ParameterizedTest
    @MethodSource("policies")
    void picksOnlyCandidates(String policy) {
        Pool pool = Fixtures.pool(balancer(policy), clock, 1, 1, 1, 1);
        Member down = Fixtures.member(pool, 2);
        down.setCheckPassing(false, clock.nanoTime());
        pool.rebuild();
        SplittableRandom keys = new SplittableRandom(3);
        PickContext ctx = new PickContext();
        Set<Member> seen = new HashSet<>();
        for (int i = 0; i < 2_000; i++) {
            seen.add(pool.select(ctx.reset().hash(keys.nextLong())));
        }
        assertThat(seen).hasSize(3).doesNotContain(down);
    }

    @ParameterizedTest
    @MethodSource("weightedPolicies")
    void slowStartRampIsSeenByEveryWeightedPolicy(String policy) {
        EndpointSet.Options slowStart = new EndpointSet.Options(0, Duration.ofSeconds(30), 0.1);
        Pool pool = Fixtures.pool(Balancers.of(Fixtures.config(policy, 2), Fixtures.seeded(2), clock), clock,
                slowStart, 1);
        Member old = Fixtures.member(pool, 0);
        Member fresh = pool.add(io.sluice.endpoint.Endpoint.of(Fixtures.address(1), 1));
        clock.advance(Duration.ofSeconds(10));
        pool.rebuild();
        assertThat(pool.snapshot().ramping()).isTrue();
        // Ten seconds into a thirty-second ramp the new endpoint weighs 1/3 against 1: a quarter of the traffic.
        assertThat(share(pool, policy, fresh, old)).as("share while ramping").isBetween(0.18, 0.32);
        clock.advance(Duration.ofSeconds(30));
        pool.rebuild();
        assertThat(pool.snapshot().ramping()).isFalse();
        assertThat(share(pool, policy, fresh, old)).as("share after the ramp").isBetween(0.42, 0.58);
    }

    /**
     * The share of requests that reach {@code fresh}. Requests stay open for the least-connections kind (it
     * balances what is in flight); the others end at once with equal latencies.
     */
    private double share(Pool pool, String policy, Member fresh, Member old) {
        boolean open = policy.equals("weighted-least-connections");
        SplittableRandom keys = new SplittableRandom(17);
        PickContext ctx = new PickContext();
        int hits = 0;
        int picks = 20_000;
        for (int i = 0; i < picks; i++) {
            Member m = pool.select(ctx.reset().hash(keys.nextLong()));
            m.load().requestStarted();
            if (!open) {
                m.load().recordLatency(clock.nanoTime(), 10_000_000L, 10_000_000_000L);
                m.load().requestEnded();
            }
            hits += m == fresh ? 1 : 0;
        }
        for (Member m : List.of(fresh, old)) {
            while (m.load().activeRequests() > 0) {
                m.load().requestEnded();
            }
        }
        return (double) hits / picks;
    }

    @ParameterizedTest
    @MethodSource("policies")
    void picksAllocateNothing(String policy) {
        Pool pool = Fixtures.uniformPool(balancer(policy), clock, 16);
        long[] keys = new SplittableRandom(9).longs(1024).toArray();
        PickContext ctx = new PickContext();
        Member first = pool.select(ctx.reset().hash(keys[0]));
        int[] i = {0};
        long allocated = Fixtures.allocatedBytes(10_000, () -> {
            pool.select(ctx.reset().hash(keys[i[0]++ & 1023]));
            pool.select(ctx.exclude(first));
            pool.select(ctx.reset()); // no key: the fallback of hash policies
        });
        assertThat(allocated).as("bytes allocated by 30,000 picks").isLessThan(Fixtures.STRAY_ALLOCATION_BYTES);
    }
}
