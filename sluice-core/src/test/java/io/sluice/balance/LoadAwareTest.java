package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.List;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Least-connections, power-of-two and peak-EWMA: load and latency steer traffic as promised. */
class LoadAwareTest {

    private static final long MS = 1_000_000L;

    private final ManualClock clock = ManualClock.start();

    @ParameterizedTest
    @ValueSource(strings = {"least-connections", "weighted-least-connections"})
    void neverPicksABusierEndpointWhenALessBusyOneExists(String policy) {
        int[] weights = policy.startsWith("weighted") ? new int[] {1, 2, 3, 1, 5, 2, 1, 4} : new int[] {1, 1, 1, 1,
                1, 1, 1, 1};
        Pool pool = Fixtures.pool(Balancers.of(policy, Fixtures.seeded(4), clock), clock, weights);
        List<Member> members = pool.snapshot().candidates();
        SplittableRandom random = new SplittableRandom(8);
        PickContext ctx = new PickContext();
        for (int step = 0; step < 20_000; step++) {
            // Random churn: requests start and end anywhere, as they would with other proxies and long requests.
            Member churn = members.get(random.nextInt(members.size()));
            if (random.nextBoolean() || churn.load().activeRequests() == 0) {
                churn.load().requestStarted();
            } else {
                churn.load().requestEnded();
            }
            Member picked = pool.select(ctx.reset());
            double pickedLoad = load(picked, weights);
            for (Member m : members) {
                assertThat(pickedLoad).as("step %d: picked %s over %s", step, picked, m)
                        .isLessThanOrEqualTo(load(m, weights));
            }
            picked.load().requestStarted();
        }
    }

    private static double load(Member m, int[] weights) {
        return (double) m.load().activeRequests() / weights[Fixtures.addressIndex(m)];
    }

    @Test
    void powerOfTwoShiftsTrafficAwayFromASlowEndpoint() {
        Simulation sim = new Simulation("power-of-two").run();
        assertThat(sim.shareBefore()).as("fair share before the slowdown").isBetween(0.20, 0.30);
        assertThat(sim.firstQuietWindow(0.08)).as("requests until the slow endpoint gets < 8%")
                .isBetween(0, 200);
        assertThat(sim.maxShareAfter(200)).isLessThan(0.08);
    }

    @Test
    void peakEwmaShiftsTrafficAwayFromASlowEndpoint() {
        Simulation sim = new Simulation("least-response-time").run();
        assertThat(sim.shareBefore()).as("fair share before the slowdown").isBetween(0.20, 0.30);
        assertThat(sim.firstQuietWindow(0.02)).as("requests until the slow endpoint gets < 2%")
                .isBetween(0, 200);
        assertThat(sim.maxShareAfter(200)).isLessThan(0.02);
    }

    @Test
    void peakEwmaForgivesASlowEndpointOnceItsEstimateDecays() {
        Pool pool = Fixtures.pool(Balancers.of("least-response-time", Fixtures.seeded(3), clock), clock, 1, 1);
        Member slow = Fixtures.member(pool, 0);
        Member fast = Fixtures.member(pool, 1);
        slow.load().recordLatency(clock.nanoTime(), 100 * MS, LoadStats.DEFAULT_DECAY_NANOS);
        fast.load().recordLatency(clock.nanoTime(), 10 * MS, LoadStats.DEFAULT_DECAY_NANOS);
        assertThat(Fixtures.count(pool, 100)).doesNotContainKey(slow);
        clock.advance(Duration.ofSeconds(1));
        fast.load().recordLatency(clock.nanoTime(), 10 * MS, LoadStats.DEFAULT_DECAY_NANOS);
        // 100 ms decays below 10 ms after ln(10) τ ≈ 23 s without samples.
        clock.advance(Duration.ofSeconds(25));
        fast.load().recordLatency(clock.nanoTime(), 10 * MS, LoadStats.DEFAULT_DECAY_NANOS);
        assertThat(Fixtures.count(pool, 100)).containsKey(slow);
    }

    @Test
    void peakEwmaHonoursRetryAfter() {
        Pool pool = Fixtures.pool(Balancers.of("least-response-time", Fixtures.seeded(5), clock), clock, 1, 1, 1,
                1);
        Member busy = Fixtures.member(pool, 2);
        Member other = Fixtures.member(pool, 3);
        busy.load().penaliseUntil(clock.nanoTime() + Duration.ofSeconds(5).toNanos());
        other.load().penaliseUntil(clock.nanoTime() + Duration.ofSeconds(5).toNanos());
        var counts = Fixtures.count(pool, 5_000);
        assertThat(counts).doesNotContainKeys(busy, other).hasSize(2);
        clock.advance(Duration.ofSeconds(5));
        assertThat(Fixtures.count(pool, 5_000)).containsKeys(busy, other);
    }

    @Test
    void peakEwmaDoesNotMistakeFastFailuresForSpeed() {
        Pool pool = Fixtures.pool(Balancers.of("least-response-time", Fixtures.seeded(6), clock), clock, 1, 1, 1);
        Member broken = Fixtures.member(pool, 0);
        PickContext ctx = new PickContext();
        int toBroken = 0;
        for (int i = 0; i < 3_000; i++) {
            clock.advance(Duration.ofMillis(2));
            Member m = pool.select(ctx.reset());
            m.load().requestStarted();
            if (m == broken) {
                toBroken++;
                // Connection refused after 1 ms, against 20 ms for a real answer elsewhere.
                m.load().recordFailureLatency(clock.nanoTime(), MS, LoadStats.DEFAULT_DECAY_NANOS);
            } else {
                m.load().recordLatency(clock.nanoTime(), 20 * MS, LoadStats.DEFAULT_DECAY_NANOS);
            }
            m.load().requestEnded();
        }
        assertThat(toBroken).as("requests sent to the fast-failing endpoint").isLessThan(30);
    }

    @Test
    void boundedLoadKeepsEveryEndpointUnderFactorTimesMeanPlusOneUnderZipfKeys() {
        double factor = 1.25;
        Pool bounded = Fixtures.uniformPool(Balancers.of(Fixtures.config("consistent-hash-bounded", 10),
                Fixtures.seeded(1), clock), clock, 10);
        assertThat(maxExcessOverBound(bounded, factor)).as("bounded-load").isLessThanOrEqualTo(0);
        // The same load on a plain ring overloads the endpoint that owns the hot keys.
        Pool ring = Fixtures.uniformPool(Balancers.of(Fixtures.config("ring-hash", 10), Fixtures.seeded(1), clock),
                clock, 10);
        assertThat(maxExcessOverBound(ring, factor)).as("plain ring-hash").isGreaterThan(5);
    }

    /**
     * Replays Zipf-distributed keys (s = 1.1 over 10,000 keys) with 200 requests in flight, ending the oldest as
     * each new one starts, and returns the largest {@code load − (factor × mean + 1)} seen right after a pick.
     */
    private static double maxExcessOverBound(Pool pool, double factor) {
        int keys = 10_000;
        double[] cdf = new double[keys];
        double sum = 0;
        for (int k = 0; k < keys; k++) {
            sum += 1 / Math.pow(k + 1, 1.1);
            cdf[k] = sum;
        }
        SplittableRandom random = new SplittableRandom(12);
        List<Member> members = pool.snapshot().candidates();
        int inFlight = 200;
        Member[] ring = new Member[inFlight];
        PickContext ctx = new PickContext();
        double worst = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < 100_000; i++) {
            int slot = i % inFlight;
            if (ring[slot] != null) {
                ring[slot].load().requestEnded();
            }
            int rank = java.util.Arrays.binarySearch(cdf, random.nextDouble() * sum);
            rank = rank >= 0 ? rank : -rank - 1;
            Member m = pool.select(ctx.reset().hash(Fixtures.key(rank)));
            m.load().requestStarted();
            ring[slot] = m;
            int total = 0;
            for (Member e : members) {
                total += e.load().activeRequests();
            }
            double bound = factor * total / members.size() + 1;
            worst = Math.max(worst, m.load().activeRequests() - bound);
        }
        return worst;
    }

    /**
     * Four endpoints serving in 2 ms, one request per millisecond; at request 2,000 endpoint 0 starts taking
     * 50 ms. Requests end (and report their latency) in time order on a manual clock.
     */
    private final class Simulation {
        private static final int SLOWDOWN = 2_000;
        private static final int REQUESTS = 6_000;
        private final Pool pool;
        private final boolean[] toSlow = new boolean[REQUESTS];

        Simulation(String policy) {
            pool = Fixtures.pool(Balancers.of(policy, Fixtures.seeded(21), clock), clock, 1, 1, 1, 1);
        }

        Simulation run() {
            Member slow = Fixtures.member(pool, 0);
            record Completion(long at, long latency, Member member) {
            }
            PriorityQueue<Completion> pending = new PriorityQueue<>((a, b) -> Long.compare(a.at, b.at));
            PickContext ctx = new PickContext();
            for (int r = 0; r < REQUESTS; r++) {
                long now = r * MS;
                while (!pending.isEmpty() && pending.peek().at <= now) {
                    Completion c = pending.poll();
                    clock.setNanos(c.at);
                    c.member.load().recordLatency(c.at, c.latency, LoadStats.DEFAULT_DECAY_NANOS);
                    c.member.load().requestEnded();
                }
                clock.setNanos(now);
                Member m = pool.select(ctx.reset());
                m.load().requestStarted();
                long service = m == slow && r >= SLOWDOWN ? 50 * MS : 2 * MS;
                pending.add(new Completion(now + service, service, m));
                toSlow[r] = m == slow;
            }
            return this;
        }

        double shareBefore() {
            return share(SLOWDOWN - 1_000, SLOWDOWN);
        }

        /** Requests after the slowdown until the first 200-request window in which the slow one gets < limit. */
        int firstQuietWindow(double limit) {
            for (int start = SLOWDOWN; start + 200 <= REQUESTS; start++) {
                if (share(start, start + 200) < limit) {
                    return start - SLOWDOWN;
                }
            }
            return Integer.MAX_VALUE;
        }

        /** The largest share of the slow endpoint in any 200-request window starting {@code after} the slowdown. */
        double maxShareAfter(int after) {
            double max = 0;
            for (int start = SLOWDOWN + after; start + 200 <= REQUESTS; start += 10) {
                max = Math.max(max, share(start, start + 200));
            }
            return max;
        }

        private double share(int from, int to) {
            int hits = 0;
            for (int r = from; r < to; r++) {
                hits += toSlow[r] ? 1 : 0;
            }
            return (double) hits / (to - from);
        }
    }
}
