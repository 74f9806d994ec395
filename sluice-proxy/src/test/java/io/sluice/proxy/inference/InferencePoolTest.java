package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Model discovery as the scraper's threads report it. No sockets. */
class InferencePoolTest {

    private static final int ENDPOINTS = 8;

    private static PoolRuntime pool(Optional<PoolRuntime> previous) throws Exception {
        StringBuilder yaml = new StringBuilder("listeners: []\npools:\n  - name: auto\n    policy: inference\n"
                + "    endpoints: [");
        for (int i = 0; i < ENDPOINTS; i++) {
            yaml.append(i == 0 ? "" : ", ").append("{ address: \"10.0.0.").append(i + 1).append(":8000\" }");
        }
        yaml.append("]\n");
        return PoolRuntime.build(SluiceConfig.parse(yaml.toString(), "t", Path.of(".")).pools().get(0), previous,
                ManualClock.start());
    }

    private static Address endpoint(int i) {
        return Address.parse("10.0.0." + (i + 1) + ":8000");
    }

    @Test
    void concurrentDiscoveriesOfDifferentEndpointsAreAllRouted() throws Exception {
        // Each discovery completes on its own HTTP client thread. A router built from an older map and published
        // last would hide an endpoint's models for good (its next discovery reports the same list).
        for (int round = 0; round < 200; round++) {
            InferencePool pool = pool(Optional.empty()).inference().orElseThrow();
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int i = 0; i < ENDPOINTS; i++) {
                int n = i;
                Thread t = new Thread(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    pool.discovered(endpoint(n), Set.of("model-" + n));
                });
                t.start();
                threads.add(t);
            }
            go.countDown();
            for (Thread t : threads) {
                t.join(TimeUnit.SECONDS.toMillis(10));
            }
            List<String> all = new ArrayList<>();
            for (int i = 0; i < ENDPOINTS; i++) {
                all.add("model-" + i);
            }
            assertThat(pool.models().servedNames(Set.of())).as("round %d", round).containsAll(all);
        }
    }

    @Test
    void aDiscoveryAfterAReloadSeesWhatTheReplacedPoolLearnt() throws Exception {
        PoolRuntime first = pool(Optional.empty());
        PoolRuntime second = pool(Optional.of(first));
        InferencePool old = first.inference().orElseThrow();
        InferencePool now = second.inference().orElseThrow();
        // The replaced pool's discovery lands after the new pool was built (it was in flight across the reload).
        old.discovered(endpoint(0), Set.of("late"));
        // The new pool's next discovery of that endpoint reports the same list: it must still show it.
        now.discovered(endpoint(0), Set.of("late"));
        assertThat(now.models().servedNames(Set.of())).contains("late");
    }
}
