package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.PoolConfig;
import io.sluice.time.ManualClock;
import org.junit.jupiter.api.Test;

class BalancersTest {

    private final ManualClock clock = ManualClock.start();

    @Test
    void buildsEveryPolicyOfTheContractUnderItsName() {
        for (String policy : PoolConfig.POLICIES) {
            LoadBalancer fromConfig = Balancers.of(Fixtures.config(policy, 2), Fixtures.seeded(1), clock);
            LoadBalancer byName = Balancers.of(policy, Fixtures.seeded(1), clock);
            assertThat(fromConfig.name()).isEqualTo(policy);
            assertThat(byName.name()).isEqualTo(policy);
            assertThat(fromConfig instanceof HashBalancer).isEqualTo(PoolConfig.HASH_POLICIES.contains(policy));
        }
        assertThatThrownBy(() -> Balancers.of("fastest", Fixtures.seeded(1), clock))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'fastest' is not a policy");
    }

    @Test
    void requestsWithoutAKeyGoToTheFallbackAndAreCountedOnce() {
        PoolConfig config = Fixtures.config("""
                name: p
                policy: maglev
                hash_on: header:x-user
                hash_fallback: least-connections
                endpoints: [ { address: "10.0.0.1:8080" }, { address: "10.0.0.2:8080" } ]
                """);
        LoadBalancer balancer = Balancers.of(config, Fixtures.seeded(1), clock);
        assertThat(((HashBalancer) balancer).fallback().name()).isEqualTo("least-connections");
        Pool pool = Fixtures.pool(balancer, clock, 1, 1);
        PickContext ctx = new PickContext();
        pool.select(ctx.reset().hash(HashKeys.of("alice")));
        assertThat(Balancers.keylessRequests(balancer)).isZero();
        for (int i = 0; i < 5; i++) {
            var first = pool.select(ctx.reset());
            pool.select(ctx.exclude(first)); // the retry is the same request
        }
        assertThat(Balancers.keylessRequests(balancer)).isEqualTo(5);
    }

    @Test
    void keylessCounterIsReachableThroughStickySessions() {
        PoolConfig config = Fixtures.config("""
                name: p
                policy: ring-hash
                hash_on: query:user
                sticky: { cookie: S }
                endpoints: [ { address: "10.0.0.1:8080" } ]
                """);
        LoadBalancer balancer = Balancers.of(config, Fixtures.seeded(1), clock);
        Pool pool = Fixtures.pool(balancer, clock, 1);
        pool.select(new PickContext());
        assertThat(Balancers.keylessRequests(balancer)).isEqualTo(1);
        assertThat(Balancers.keylessRequests(Balancers.of("round-robin", Fixtures.seeded(1), clock))).isZero();
    }
}
