package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.sluice.balance.LoadBalancer;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Address;
import io.sluice.time.ManualClock;
import java.time.Duration;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class FleetStateTest {

    @Test
    void indexCapacityComesFromTheEnginesCacheConfig() {
        Fleet f = new Fleet("inference", 1);
        Address a = f.members.get(0).address();
        f.pick(Fleet.request(1, 0, 1, 96));
        assertThat(f.state.indexedBlocks(a)).isEqualTo(96);
        // 1,000 blocks of 32 tokens = 2,000 of the index's 16-token blocks; then 40 blocks of 16 tokens.
        f.state.publish(a, new ServerMetrics(0, 0, 0, 1000, 32, Set.of(), 0, f.clock.nanoTime()));
        assertThat(f.state.index.capacity(0)).isEqualTo(2000);
        f.state.publish(a, new ServerMetrics(0, 0, 0, 40, 16, Set.of(), 0, f.clock.nanoTime()));
        assertThat(f.state.indexedBlocks(a)).isEqualTo(40);
    }

    @Test
    void configuredCapacityWins() {
        InferenceConfig c = InferenceConfig.defaults().withPrefixIndex(new InferenceConfig.PrefixIndex(48, 4096));
        Fleet f = new Fleet("inference", c, Fleet.endpoints(1));
        Address a = f.members.get(0).address();
        f.state.publish(a, new ServerMetrics(0, 0, 0, 100_000, 16, Set.of(), 0, 0));
        f.pick(Fleet.request(1, 0, 1, 100));
        assertThat(f.state.indexedBlocks(a)).isEqualTo(48);
    }

    @Test
    void baselinesSizeTheirIndexLikeTheirOriginals() {
        assertThat(new Fleet("llm-d", 1).state.index.capacity(0)).isEqualTo(31_250);
        assertThat(new Fleet("sglang-cache-aware", 1).state.index.capacity(0)).isEqualTo(262_144);
        assertThat(new Fleet("inference", 1).state.index.capacity(0)).isEqualTo(32_768);
    }

    @Test
    void endpointsThatLeaveAreForgotten() {
        Fleet f = new Fleet("inference", 3);
        f.publishAll(0, 0, 0);
        Address gone = f.members.get(1).address();
        f.pool.select(new io.sluice.balance.PickContext().exclude(f.members.get(0)).exclude(f.members.get(2))
                .attach(Fleet.request(1, 0, 1, 24)));
        assertThat(f.state.indexedBlocks(gone)).isEqualTo(24);
        f.pool.remove(gone);
        assertThat(f.state.indexedBlocks(gone)).isZero();
        assertThat(f.state.metrics(gone)).isEmpty();
        assertThat(f.state.index.entries()).isZero();
    }

    @Test
    void discoveredAdaptersAreCollected() {
        Fleet f = new Fleet("inference", 2);
        f.state.publish(f.members.get(0).address(), new ServerMetrics(0, 0, 0, 0, 0, Set.of("a"), 2, 0));
        f.state.publish(f.members.get(1).address(), new ServerMetrics(0, 0, 0, 0, 0, Set.of("b"), 2, 0));
        assertThat(f.state.discoveredAdapters()).containsExactlyInAnyOrder("a", "b");
    }

    @Test
    void selfSettlingDebtsSettleInTimeOrder() {
        EndpointState s = new EndpointState(new Address("h", 1), 0);
        long[] at = {50, 10, 40, 20, 30, 60};
        for (long t : at) {
            s.dispatched(0, 100);
            s.settleLater(t, 100);
        }
        assertThat(s.owedPrefillTokens).isEqualTo(600);
        s.settleDue(25);
        assertThat(s.owedPrefillTokens).isEqualTo(400);
        s.settleDue(45);
        assertThat(s.owedPrefillTokens).isEqualTo(200);
        s.settleDue(1000);
        assertThat(s.owedPrefillTokens).isZero();
        assertThat(s.owedPrefillRequests).isZero();
    }

    @Test
    void policiesAreBuiltByNameAndExposeTheirFleet() {
        ManualClock clock = ManualClock.start();
        FleetState fleet = InferencePolicies.fleetFor("inference", InferenceConfig.defaults(), clock);
        SplittableRandom rnd = new SplittableRandom(1);
        LoadBalancer lb = InferencePolicies.of("inference", fleet, rnd::split);
        assertThat(lb.name()).isEqualTo("inference");
        assertThat(InferencePolicies.fleet(lb)).containsSame(fleet);
        assertThat(InferencePolicies.of("llm-d", fleet, rnd::split).name()).isEqualTo("llm-d");
        assertThat(InferencePolicies.handles("sglang-cache-aware")).isTrue();
        assertThat(InferencePolicies.handles("maglev")).isFalse();
        assertThatThrownBy(() -> InferencePolicies.of("maglev", fleet, rnd::split))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aFreshReadingReleasesAsManyAsItsQueueIsBelowTheThreshold() {
        Fleet f = new Fleet("inference", 2);
        Address a = f.members.get(0).address();
        assertThat(f.state.releasedByReading(a)).isZero();   // nothing read yet
        f.publish(0, 2, 10, 0.3);
        assertThat(f.state.releasedByReading(a)).isEqualTo(3);   // saturation.queue 5
        f.publish(0, 7, 10, 0.3);
        assertThat(f.state.releasedByReading(a)).isZero();
        f.publish(0, 0, 10, 0.3);
        f.clock.advance(Duration.ofSeconds(1));   // stale_after 500 ms
        assertThat(f.state.releasedByReading(a)).isZero();
        assertThat(f.state.releasedByReading(new Address("10.9.9.9", 1))).isZero();
    }

    @Test
    void predictedPrefillCountsTheLongestPrefixAnyEndpointHolds() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        double rate = f.state.prefillTokensPerSecond();
        InferenceRequest cold = Fleet.request(1, 96, 1, 100);
        assertThat(f.state.predictedPrefillSeconds(cold)).isCloseTo(100 * 16 / rate, within(1e-9));
        f.pick(InferenceExchange.of(cold));
        // A follow-up sharing the first 96 blocks: only its 14 new blocks count.
        InferenceRequest next = Fleet.request(1, 96, 2, 110);
        assertThat(f.state.predictedPrefillSeconds(next)).isCloseTo(14 * 16 / rate, within(1e-9));
    }
}
