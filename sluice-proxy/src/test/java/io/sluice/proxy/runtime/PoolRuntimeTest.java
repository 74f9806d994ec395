package io.sluice.proxy.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import io.sluice.resilience.CircuitBreaker.Resource;
import io.sluice.resilience.UpstreamFailure;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What a pool's runtime carries over a reload, and what {@code activate} applies. No sockets. */
class PoolRuntimeTest {

    private final ManualClock clock = ManualClock.start();

    private static PoolConfig pool(String settings) throws ConfigException {
        String yaml = "listeners: []\npools:\n  - name: p\n    endpoints: [ { address: \"10.0.0.1:80\" }, "
                + "{ address: \"10.0.0.2:80\" } ]\n    " + settings.replace("\n", "\n    ") + "\n";
        return SluiceConfig.parse(yaml, "t", Path.of(".")).pools().get(0);
    }

    private PoolRuntime build(String settings, Optional<PoolRuntime> previous) throws Exception {
        return PoolRuntime.build(pool(settings), previous, clock);
    }

    private static Member member(PoolRuntime p, String address) {
        return p.pool().member(Address.parse(address)).orElseThrow();
    }

    @Test
    void breakersBudgetAndQueueCarryOverAndNewLimitsApplyOnActivation() throws Exception {
        PoolRuntime first = build("limits: { max_requests: 2 }", Optional.empty());
        first.activate(Optional.empty());
        var unit = first.breakers().endpoint(member(first, "10.0.0.1:80"));
        assertThat(first.breakers().tryAcquire(Resource.REQUESTS, unit).admitted()).isTrue();

        PoolRuntime second = build("limits: { max_requests: 1 }", Optional.of(first));
        assertThat(second.breakers()).isSameAs(first.breakers());
        assertThat(second.retryBudget()).as("same budget settings").isSameAs(first.retryBudget());
        assertThat(second.pending()).as("same queue settings").isSameAs(first.pending());
        assertThat(first.breakers().pool().limit(Resource.REQUESTS)).as("nothing changes before activation")
                .isEqualTo(2);

        second.activate(Optional.of(first));
        assertThat(first.current()).isSameAs(second);
        assertThat(second.breakers().pool().limit(Resource.REQUESTS)).isEqualTo(1);
        assertThat(second.breakers().tryAcquire(Resource.REQUESTS, unit).admitted())
                .as("the request in flight across the reload still counts").isFalse();
        second.breakers().release(Resource.REQUESTS, unit);

        PoolRuntime third = build("retries: { budget_percent: 50 }\nlimits: { max_pending: 3 }",
                Optional.of(second));
        assertThat(third.retryBudget()).isNotSameAs(second.retryBudget());
        assertThat(third.pending()).isNotSameAs(second.pending());
        assertThat(third.pending().capacity()).isEqualTo(3);
    }

    @Test
    void waitersOfAReplacedQueueAreWokenToQueueAgain() throws Exception {
        PoolRuntime first = build("limits: { max_pending: 5 }", Optional.empty());
        int[] woken = {0};
        first.pending().offer(() -> woken[0]++);
        first.pending().offer(() -> woken[0]++);
        PoolRuntime second = build("limits: { max_pending: 6 }", Optional.of(first));
        second.activate(Optional.of(first));
        assertThat(woken[0]).isEqualTo(2);
        assertThat(first.pending().size()).isZero();
    }

    @Test
    void outlierStateCarriesOverAndRemovingDetectionOrChecksLetsMembersBackIn() throws Exception {
        PoolRuntime first = build("outlier_detection: { consecutive_gateway_errors: 2, base_ejection: 1m }\n"
                + "health_check: { type: tcp }", Optional.empty());
        first.activate(Optional.empty());
        Member a = member(first, "10.0.0.1:80");
        Member b = member(first, "10.0.0.2:80");
        b.setCheckPassing(true, clock.nanoTime());
        first.outlier().orElseThrow().onFailure(b, UpstreamFailure.CONNECT_FAILURE, clock.nanoTime());
        first.outlier().orElseThrow().onFailure(b, UpstreamFailure.CONNECT_FAILURE, clock.nanoTime());
        assertThat(b.ejected(clock.nanoTime())).isTrue();
        assertThat(a.checkPassing()).as("never probed").isFalse();

        PoolRuntime kept = build("outlier_detection: { consecutive_gateway_errors: 2, base_ejection: 1m }\n"
                + "health_check: { type: tcp }", Optional.of(first));
        kept.activate(Optional.of(first));
        assertThat(kept.outlier().orElseThrow().ejected(b)).isTrue();
        assertThat(kept.outlier().orElseThrow().ejections(b)).isEqualTo(1);
        assertThat(kept.pool().snapshot().candidates()).isEmpty();

        PoolRuntime plain = build("slow_start: 0s", Optional.of(kept));
        plain.activate(Optional.of(kept));
        clock.advance(Duration.ofMillis(1));
        assertThat(a.checkPassing()).isTrue();
        assertThat(b.ejected(clock.nanoTime())).isFalse();
        assertThat(plain.pool().snapshot().candidates()).containsExactlyInAnyOrder(a, b);
    }

    @Test
    void perTryTimeoutIsCappedByTheResponseHeaderTimeout() throws Exception {
        assertThat(build("retries: { per_try_timeout: 200ms }", Optional.empty()).tryTimeoutNanos())
                .isEqualTo(Duration.ofMillis(200).toNanos());
        assertThat(build("timeouts: { response_header: 2s }", Optional.empty()).tryTimeoutNanos())
                .isEqualTo(Duration.ofSeconds(2).toNanos());
        assertThat(build("retries: { per_try_timeout: 5s }\ntimeouts: { response_header: 1s }", Optional.empty())
                .tryTimeoutNanos()).isEqualTo(Duration.ofSeconds(1).toNanos());
    }
}
