package io.sluice.sim.replay;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.Selector;
import io.sluice.config.InferenceConfig;
import io.sluice.inference.FleetState;
import io.sluice.inference.InferenceExchange;
import io.sluice.inference.InferencePolicies;
import io.sluice.sim.trace.Generator;
import io.sluice.sim.trace.LengthSampler;
import io.sluice.sim.trace.RequestStream;
import io.sluice.sim.trace.Workload;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The inference policies in the replay: the proxy's wiring (scrapes, exchange feedback, central queue). */
class InferenceReplayTest {

    private static final String POLICIES_ALL = "inference";

    /** Multi-turn conversations over a few shared system prompts. */
    private static Supplier<RequestStream> conversations(double rate, int seconds, long seed) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(600, 60), 4, 2048, 0.9,
                3, Duration.ofSeconds(5), 0, seed);
        return () -> new Generator(w);
    }

    /** Independent requests with no shared prefix. */
    private static Supplier<RequestStream> poisson(double rate, int seconds, int prompt, int output) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(prompt, output), 0, 0,
                0, 1, Duration.ofSeconds(1), 0, 3);
        return () -> new Generator(w);
    }

    private static ReplayReport run(ReplayConfig config, Supplier<RequestStream> workload) throws Exception {
        return new Replay(config, workload).run("test");
    }

    private static PolicyResult policy(ReplayReport r, String name) {
        return r.policies().stream().filter(p -> p.policy().equals(name)).findFirst().orElseThrow();
    }

    /** The default routing, recording the fleet state and every exchange the inference policy sees. */
    private static final class Spy implements RoutingFactory {
        final List<FleetState> fleets = new ArrayList<>();
        final List<Object> attachments = new ArrayList<>();

        @Override
        public Routing create(io.sluice.config.PoolConfig pool, Supplier<java.util.random.RandomGenerator> random,
                              io.sluice.time.Clock clock) {
            Routing inner = RoutingFactory.BALANCERS.create(pool, random, clock);
            inner.fleet().ifPresent(fleets::add);
            LoadBalancer b = inner.balancer();
            LoadBalancer capturing = new LoadBalancer() {
                @Override
                public String name() {
                    return b.name();
                }

                @Override
                public Selector newSelector(io.sluice.endpoint.EndpointSet snapshot) {
                    Selector s = b.newSelector(snapshot);
                    return ctx -> {
                        attachments.add(ctx.attachment());
                        return s.select(ctx);
                    };
                }
            };
            return new Routing(capturing, inner.sink(), inner.fleet());
        }
    }

    @Test
    void inferenceKeepsPrefixesRoundRobinScattersAndFeedbackFlows() throws Exception {
        Spy spy = new Spy();
        ReplayConfig c = ReplayConfig.of(Fleet.parse("4xa100-80g-llama3-8b"), List.of("round-robin", POLICIES_ALL))
                .withRouting(spy).withThreads(1);
        ReplayReport r = run(c, conversations(2, 60, 11));
        PolicyResult rr = policy(r, "round-robin");
        PolicyResult inf = policy(r, "inference");
        assertThat(inf.completed()).isEqualTo(inf.requests()).isEqualTo(rr.completed());
        assertThat(inf.failures()).isEmpty();
        assertThat(inf.prefixHitRatio()).isGreaterThan(rr.prefixHitRatio() + 0.1);
        // Every pick carried an exchange; each got its end (none is left in flight).
        List<InferenceExchange> exchanges = spy.attachments.stream().filter(InferenceExchange.class::isInstance)
                .map(InferenceExchange.class::cast).toList();
        assertThat(exchanges).hasSize((int) inf.requests());
        assertThat(exchanges).allSatisfy(x -> {
            assertThat(x.endpoint()).isPresent();
            assertThat(x.inFlight()).isFalse();
        });
        assertThat(exchanges).anySatisfy(x -> assertThat(x.cachedTokens()).isPositive());
        // First-token feedback calibrated the prefill rate away from its configured start; scrapes arrived.
        FleetState fleet = spy.fleets.get(spy.fleets.size() - 1);
        assertThat(fleet.prefillTokensPerSecond())
                .isNotEqualTo(InferenceConfig.defaults().loadGuard().prefillTokensPerSecond());
        assertThat(fleet.metrics(exchanges.get(0).endpoint().orElseThrow())).isPresent();
        assertThat(fleet.predictedPrefixHitRatio()).isPositive();
    }

    @Test
    void requestsRefusedAsSaturatedWaitCentrallyAndAreServedOnceCapacityFrees() throws Exception {
        // A 20 s burst far beyond one server's capacity, then nothing: the queue must drain into the server.
        ReplayConfig c = ReplayConfig.of(Fleet.parse("1xa100-80g-llama3-8b"), List.of("llm-d", POLICIES_ALL));
        ReplayReport r = run(c, poisson(12, 10, 3000, 120));
        for (PolicyResult p : r.policies()) {
            assertThat(p.queued()).as(p.policy()).isPositive();
            assertThat(p.completed()).as(p.policy()).isEqualTo(p.requests());
            assertThat(p.failures()).as(p.policy()).isEmpty();
            assertThat(p.shed()).as(p.policy()).isZero();
            // Waiting in the central queue counts in the request's time to first token.
            assertThat(PolicyResult.millis(p.ttft(), 99)).as(p.policy()).isGreaterThan(2_000);
        }
    }

    @Test
    void aQueueTimeoutIsCountedAsA429FailureNotDropped() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("1xa100-80g-llama3-8b"), List.of(POLICIES_ALL));
        PolicyResult p = run(c, poisson(30, 60, 3000, 120)).policies().get(0);
        assertThat(p.failures()).containsKey("queue_timeout_429");
        assertThat(p.failures().get("queue_timeout_429")).isPositive();
        assertThat(p.completed() + p.failed() + p.shed()).isEqualTo(p.requests());
        assertThat(p.completed()).isPositive();
        Map<String, Object> json = ReportJson.tree(run(c, poisson(30, 60, 3000, 120)));
        assertThat(json.toString()).contains("queue_timeout_429", "queued");
    }

    @Test
    void sameSeedSameResultWithFeedbackAndQueueing() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xa100-80g-llama3-8b"), List.of("llm-d", POLICIES_ALL,
                "sglang-cache-aware")).withSeed(9);
        Map<String, Object> a = strip(ReportJson.tree(run(c, conversations(6, 40, 5))));
        Map<String, Object> b = strip(ReportJson.tree(run(c.withThreads(1), conversations(6, 40, 5))));
        assertThat(a).isEqualTo(b);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> strip(Map<String, Object> tree) {
        for (Object p : (List<Object>) tree.get("policies")) {
            ((Map<String, Object>) p).remove("wall_seconds");
            ((Map<String, Object>) p).remove("cpu_seconds");
        }
        return tree;
    }

    @Test
    void theBaselinesQueueFirstComeFirstServedInferenceAsConfigured() {
        InferenceConfig.FlowControl configured = InferenceConfig.defaults().flowControl();
        assertThat(configured.order()).isEqualTo(InferenceConfig.QueueOrder.SHORTEST_FIRST);
        assertThat(InferencePolicies.flowControlFor("inference", configured)).isEqualTo(configured);
        for (String baseline : List.of("llm-d", "sglang-cache-aware")) {
            InferenceConfig.FlowControl f = InferencePolicies.flowControlFor(baseline, configured);
            assertThat(f.order()).as(baseline).isEqualTo(InferenceConfig.QueueOrder.FAIR_FIFO);
            assertThat(f.maxQueue()).isEqualTo(configured.maxQueue());
            assertThat(f.queueTimeout()).isEqualTo(configured.queueTimeout());
        }
    }
}
