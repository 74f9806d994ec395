package io.sluice.inference;

import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.ConfigException;
import io.sluice.config.InferenceConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;

/** Test fixture: a pool of N endpoints under one inference policy, a manual clock, and helpers. */
final class Fleet {

    final ManualClock clock = ManualClock.start();
    final FleetState state;
    final Pool pool;
    final List<Member> members;

    Fleet(String policy, int n) {
        this(policy, InferenceConfig.defaults(), endpoints(n));
    }

    Fleet(String policy, InferenceConfig config, List<Endpoint> endpoints) {
        state = InferencePolicies.fleetFor(policy, config, clock);
        SplittableRandom seed = new SplittableRandom(1234);
        pool = Pool.of("llm", InferencePolicies.of(policy, state, seed::split), EndpointSet.Options.DEFAULT, clock,
                false, endpoints, Optional.empty());
        members = pool.members();
    }

    /** Inference settings read by the config loader from an {@code inference:} block (YAML flow mapping). */
    static InferenceConfig config(String inferenceBlock) throws ConfigException {
        return SluiceConfig.parse("""
                listeners: []
                pools:
                  - name: llm
                    policy: inference
                    inference: %s
                    endpoints: [ { address: "10.0.0.1:8000" } ]
                """.formatted(inferenceBlock), "test", Path.of(".")).pools().get(0).inference().orElseThrow();
    }

    static List<Endpoint> endpoints(int n) {
        List<Endpoint> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Endpoint.of(new Address("10.0.0." + (i + 1), 8000)));
        }
        return out;
    }

    static Endpoint labelled(int i, Map<String, String> labels) {
        return new Endpoint(new Address("10.0.0." + (i + 1), 8000), 1, false, labels);
    }

    /** A request of {@code blocks} prompt blocks whose first {@code shared} blocks come from {@code stem}. */
    static InferenceRequest request(long stem, int shared, long own, int blocks) {
        return request(stem, shared, own, blocks, Optional.empty(), Optional.empty());
    }

    static InferenceRequest request(long stem, int shared, long own, int blocks, Optional<String> session,
                                    Optional<String> adapter) {
        long[] h = new long[blocks];
        long prev = 0;
        for (int i = 0; i < blocks; i++) {
            prev = PromptHasher.nextSynthetic(prev, i < shared ? stem * 100_000 + i : own * 1_000_000_007L + i);
            h[i] = prev;
        }
        return new InferenceRequest("m", adapter, h, blocks * PromptHasher.TOKENS_PER_BLOCK, 100, session, 0, "t",
                0, true);
    }

    /** Picks with an exchange attached; returns the member index. */
    int pick(InferenceExchange x) {
        return members.indexOf(pool.select(new PickContext().attach(x)));
    }

    /** Picks with a bare request attached; returns the member index. */
    int pick(InferenceRequest r) {
        return members.indexOf(pool.select(new PickContext().attach(r)));
    }

    NoEndpointException.Reason failure(Object attachment) {
        try {
            pool.select(new PickContext().attach(attachment));
        } catch (NoEndpointException e) {
            return e.reason();
        }
        throw new AssertionError("the pick succeeded");
    }

    /** Publishes a reading for member i taken now. */
    void publish(int i, int waiting, int running, double kv) {
        state.publish(members.get(i).address(), new ServerMetrics(waiting, running, kv, 10_000, 16,
                java.util.Set.of(), 0, clock.nanoTime()));
    }

    void publishAll(int waiting, int running, double kv) {
        for (int i = 0; i < members.size(); i++) {
            publish(i, waiting, running, kv);
        }
    }
}
