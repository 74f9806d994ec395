package io.sluice.resilience;

import static io.sluice.resilience.CircuitBreaker.Resource.CONNECTIONS;
import static io.sluice.resilience.CircuitBreaker.Resource.REQUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.LimitsConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.Member;
import io.sluice.resilience.CircuitBreakers.Admission;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CircuitBreakersTest {

    private static Member member(int i) {
        return new Member(i, Endpoint.of(new Address("127.0.0.1", 9000 + i)), true, 0);
    }

    private static LimitsConfig limits(int maxConnections, int maxRequests, int perEndpointConnections,
                                       int perEndpointRequests) {
        return new LimitsConfig(maxConnections, 10, maxRequests, Duration.ofSeconds(1), perEndpointConnections,
                perEndpointRequests, Duration.ofMillis(1500));
    }

    @Test
    void breakerRefusesAtItsLimitCountsOverflowsAndReopensOnRelease() {
        CircuitBreaker b = CircuitBreaker.of("pool web", 1, 2);
        assertThat(b.tryAcquire(REQUESTS)).isTrue();
        assertThat(b.tryAcquire(REQUESTS)).isTrue();
        assertThat(b.tryAcquire(REQUESTS)).isFalse();
        assertThat(b.tryAcquire(REQUESTS)).isFalse();
        assertThat(b.overflows(REQUESTS)).isEqualTo(2);
        assertThat(b.tryAcquire(CONNECTIONS)).as("resources are independent").isTrue();
        assertThat(b.tryAcquire(CONNECTIONS)).isFalse();
        assertThat(b.overflows(CONNECTIONS)).isEqualTo(1);

        b.release(REQUESTS);
        assertThat(b.tryAcquire(REQUESTS)).isTrue();
        b.release(REQUESTS);
        b.release(REQUESTS);
        b.release(CONNECTIONS);
        assertThat(b.inUse(REQUESTS)).isZero();
        assertThat(b.inUse(CONNECTIONS)).isZero();
        assertThatThrownBy(() -> b.release(REQUESTS)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("pool web");
    }

    @Test
    void loweredLimitKeepsUnitsOutAndRefusesUntilEnoughReturn() {
        CircuitBreaker b = CircuitBreaker.of("e", 10, 10);
        for (int i = 0; i < 5; i++) {
            assertThat(b.tryAcquire(REQUESTS)).isTrue();
        }
        b.setLimits(10, 3);
        assertThat(b.inUse(REQUESTS)).isEqualTo(5);
        assertThat(b.tryAcquire(REQUESTS)).isFalse();
        b.release(REQUESTS);
        b.release(REQUESTS);
        assertThat(b.tryAcquire(REQUESTS)).isFalse();
        b.release(REQUESTS);
        assertThat(b.tryAcquire(REQUESTS)).isTrue();
        assertThat(b.limit(REQUESTS)).isEqualTo(3);
    }

    @Test
    void endpointRefusalGivesThePoolUnitBack() {
        CircuitBreakers breakers = CircuitBreakers.of("web", limits(100, 2, 0, 1));
        Member a = member(1);
        Member b = member(2);
        Member c = member(3);
        CircuitBreaker ea = breakers.endpoint(a);
        assertThat(breakers.endpoint(a)).isSameAs(ea);

        assertThat(breakers.tryAcquire(REQUESTS, ea)).isEqualTo(Admission.ADMITTED);
        assertThat(breakers.tryAcquire(REQUESTS, ea)).isEqualTo(Admission.ENDPOINT_FULL);
        assertThat(breakers.pool().inUse(REQUESTS)).as("no pool unit leaked").isEqualTo(1);
        assertThat(ea.overflows(REQUESTS)).isEqualTo(1);
        assertThat(breakers.pool().overflows(REQUESTS)).isZero();

        assertThat(breakers.tryAcquire(REQUESTS, breakers.endpoint(b))).isEqualTo(Admission.ADMITTED);
        assertThat(breakers.tryAcquire(REQUESTS, breakers.endpoint(c))).isEqualTo(Admission.POOL_FULL);
        assertThat(breakers.endpoint(c).inUse(REQUESTS)).isZero();
        assertThat(breakers.pool().overflows(REQUESTS)).isEqualTo(1);

        breakers.release(REQUESTS, ea);
        breakers.release(REQUESTS, breakers.endpoint(b));
        assertThat(breakers.pool().inUse(REQUESTS)).isZero();
        assertThat(ea.inUse(REQUESTS)).isZero();
    }

    @Test
    void zeroPerEndpointLimitMeansNoLimit() {
        CircuitBreakers breakers = CircuitBreakers.of("web", limits(3, 100, 0, 0));
        CircuitBreaker e = breakers.endpoint(member(1));
        assertThat(e.limit(CONNECTIONS)).isEqualTo(CircuitBreaker.UNLIMITED);
        for (int i = 0; i < 3; i++) {
            assertThat(breakers.tryAcquire(CONNECTIONS, e)).isEqualTo(Admission.ADMITTED);
        }
        assertThat(breakers.tryAcquire(CONNECTIONS, e)).isEqualTo(Admission.POOL_FULL);
    }

    @Test
    void reloadAppliesNewLimitsToPoolAndEndpoints() {
        CircuitBreakers breakers = CircuitBreakers.of("web", limits(10, 10, 5, 5));
        CircuitBreaker e = breakers.endpoint(member(1));
        breakers.update(limits(20, 1, 2, 0));
        assertThat(breakers.pool().limit(REQUESTS)).isEqualTo(1);
        assertThat(breakers.pool().limit(CONNECTIONS)).isEqualTo(20);
        assertThat(e.limit(CONNECTIONS)).isEqualTo(2);
        assertThat(e.limit(REQUESTS)).isEqualTo(CircuitBreaker.UNLIMITED);
        assertThat(breakers.endpoint(member(2)).limit(CONNECTIONS)).as("new endpoints too").isEqualTo(2);
    }

    @Test
    void forgottenEndpointBreakerStillTakesItsReleases() {
        CircuitBreakers breakers = CircuitBreakers.of("web", limits(10, 10, 5, 5));
        Member gone = member(1);
        Member kept = member(2);
        CircuitBreaker held = breakers.endpoint(gone);
        assertThat(breakers.tryAcquire(REQUESTS, held)).isEqualTo(Admission.ADMITTED);
        CircuitBreaker keptBreaker = breakers.endpoint(kept);
        breakers.retain(List.of(kept));
        assertThat(breakers.endpoint(kept)).isSameAs(keptBreaker);
        assertThat(breakers.endpoint(gone)).isNotSameAs(held);

        breakers.release(REQUESTS, held);
        assertThat(breakers.pool().inUse(REQUESTS)).isZero();
    }

    @Test
    void retryAfterIsWholeSecondsRoundedUp() {
        assertThat(CircuitBreakers.of("web", limits(1, 1, 0, 0)).retryAfterSeconds()).isEqualTo(2);
        assertThat(CircuitBreakers.of("web", LimitsConfig.DEFAULT).retryAfterSeconds()).isEqualTo(1);
    }

    @Test
    void concurrentAcquiresNeverExceedLimitsAndLeakNothing() throws InterruptedException {
        CircuitBreakers breakers = CircuitBreakers.of("web", limits(100, 6, 0, 2));
        Member[] members = {member(1), member(2), member(3), member(4)};
        AtomicInteger[] holders = new AtomicInteger[members.length];
        AtomicInteger poolHolders = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        for (int i = 0; i < holders.length; i++) {
            holders[i] = new AtomicInteger();
        }
        SplittableRandom seeds = new SplittableRandom(99);
        long[] threadSeeds = {seeds.nextLong(), seeds.nextLong(), seeds.nextLong(), seeds.nextLong()};
        SplittableRandom[] randoms = new SplittableRandom[4];
        for (int t = 0; t < 4; t++) {
            randoms[t] = new SplittableRandom(threadSeeds[t]);
        }
        Concurrently.run(4, 20_000, t -> {
            int i = randoms[t].nextInt(members.length);
            CircuitBreaker e = breakers.endpoint(members[i]);
            if (breakers.tryAcquire(REQUESTS, e).admitted()) {
                if (holders[i].incrementAndGet() > 2 || poolHolders.incrementAndGet() > 6) {
                    violations.incrementAndGet();
                }
                holders[i].decrementAndGet();
                poolHolders.decrementAndGet();
                breakers.release(REQUESTS, e);
            }
        });
        assertThat(violations.get()).isZero();
        assertThat(breakers.pool().inUse(REQUESTS)).isZero();
        for (Member m : members) {
            assertThat(breakers.endpoint(m).inUse(REQUESTS)).isZero();
        }
    }
}
