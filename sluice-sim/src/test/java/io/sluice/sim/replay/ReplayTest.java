package io.sluice.sim.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.balance.Balancers;
import io.sluice.balance.LoadBalancer;
import io.sluice.balance.Selector;
import io.sluice.endpoint.Member;
import io.sluice.inference.InferenceRequest;
import io.sluice.inference.ServerMetrics;
import io.sluice.sim.engine.Faults;
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

class ReplayTest {

    private static Supplier<RequestStream> poisson(double rate, int seconds, int prompt, int output) {
        Workload w = new Workload(rate, 1, Duration.ofSeconds(seconds), LengthSampler.fixed(prompt, output), 4, 512,
                0.5, 1, Duration.ofSeconds(10), 0, 7);
        return () -> new Generator(w);
    }

    private static ReplayReport run(ReplayConfig config, Supplier<RequestStream> workload) throws Exception {
        return new Replay(config, workload).run("test");
    }

    @Test
    void sameSeedGivesTheSameReport() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("3xh100-llama3-8b"), List.of("round-robin",
                "least-connections")).withSeed(5);
        Map<String, Object> a = strip(ReportJson.tree(run(c, poisson(40, 60, 800, 100))));
        Map<String, Object> b = strip(ReportJson.tree(run(c.withThreads(1), poisson(40, 60, 800, 100))));
        assertThat(a).isEqualTo(b);
        assertThat(a.get("requests")).isEqualTo(((Number) a.get("requests")).longValue());
        assertThat((Long) a.get("requests")).isBetween(2_000L, 2_800L);
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
    void leastConnectionsBeatsRoundRobinOnAMixedFleet() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xh100-llama3-8b,2xa100-40g-llama3-8b"),
                List.of("round-robin", "least-connections"));
        ReplayReport r = run(c, poisson(28, 120, 1500, 200));
        PolicyResult rr = r.policies().get(0);
        PolicyResult lc = r.policies().get(1);
        assertThat(rr.completed()).isEqualTo(rr.requests());
        assertThat(lc.completed()).isEqualTo(lc.requests());
        assertThat(PolicyResult.millis(lc.e2e(), 99)).isLessThan(PolicyResult.millis(rr.e2e(), 99));
        // Round-robin gives every server the same count; least-connections sends more to the fast H100s.
        assertThat(lc.endpointRequests().get(0)).isGreaterThan(lc.endpointRequests().get(3));
        assertThat(Math.abs(rr.endpointRequests().get(0) - rr.endpointRequests().get(3))).isLessThan(3);
        assertThat(lc.prefixHitRatio()).isPositive();
        assertThat(lc.throughputRps()).isBetween(25.0, 31.0).isGreaterThan(rr.throughputRps());
    }

    @Test
    void routerSeesInferenceRequestsAndDelayedScrapes() throws Exception {
        List<Object> attachments = new ArrayList<>();
        List<long[]> readings = new ArrayList<>();
        RoutingFactory spy = (pool, random, clock) -> {
            LoadBalancer inner = Balancers.of(pool, random, clock);
            LoadBalancer capturing = new LoadBalancer() {
                @Override
                public String name() {
                    return inner.name();
                }

                @Override
                public Selector newSelector(io.sluice.endpoint.EndpointSet snapshot) {
                    Selector s = inner.newSelector(snapshot);
                    return ctx -> {
                        attachments.add(ctx.attachment());
                        return s.select(ctx);
                    };
                }
            };
            MetricsSink sink = (Member m, ServerMetrics metrics) -> readings.add(new long[] {clock.nanoTime(),
                metrics.scrapedAtNanos(), m.id(), metrics.running() + metrics.waiting()});
            return new RoutingFactory.Routing(capturing, sink);
        };
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xh100-llama3-8b"), List.of("round-robin"))
                .withRouting(spy).withScrapes(Duration.ofMillis(200), Duration.ofMillis(30));
        ReplayReport r = run(c, poisson(5, 20, 600, 50));
        assertThat(attachments).hasSize((int) r.requests());
        assertThat(attachments).allSatisfy(a -> assertThat(a).isInstanceOf(InferenceRequest.class));
        InferenceRequest first = (InferenceRequest) attachments.get(0);
        assertThat(first.blockHashes()).hasSize(600 / 16);
        assertThat(first.model()).isEqualTo("llama-3-8b");
        // Readings are stamped when read, at each 200 ms scrape, and arrive 30 ms later, for both endpoints, while
        // the replay has work.
        assertThat(readings).allSatisfy(x -> assertThat(x[0] - x[1]).isEqualTo(30_000_000L));
        assertThat(readings).allSatisfy(x -> assertThat(x[1] % 200_000_000L).isZero());
        assertThat(readings.size()).isBetween(180, 220);
        assertThat(readings).anySatisfy(x -> assertThat(x[3]).isPositive());
    }

    @Test
    void requestsBeforeWarmupEndsAreShed() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xh100-llama3-8b"), List.of("least-connections"))
                .withFaults(Faults.NONE.withWarmup(Duration.ofSeconds(10), 1, Duration.ZERO));
        PolicyResult p = run(c, poisson(10, 30, 300, 30)).policies().get(0);
        assertThat(p.shed()).isBetween(60L, 140L);
        assertThat(p.completed() + p.shed()).isEqualTo(p.requests());
        assertThat(p.sloAttainment()).isLessThan(0.8);
    }

    @Test
    void unknownPolicyFailsBeforeAnythingRuns() {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xh100-llama3-8b"), List.of("round-robin", "telepathy"));
        assertThatThrownBy(() -> run(c, poisson(1, 1, 10, 10))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("telepathy");
        assertThatThrownBy(() -> Fleet.parse("3xh100")).hasMessageContaining("no model");
        assertThatThrownBy(() -> Fleet.parse("3xh100-llama9")).hasMessageContaining("unknown model");
        assertThat(Fleet.parse("4xh100-llama3-8b, 2xa100-80g-llama3-8b").size()).isEqualTo(6);
    }

    @Test
    void reportsFollowTheContractAndNeedNoNetwork() throws Exception {
        ReplayConfig c = ReplayConfig.of(Fleet.parse("2xh100-llama3-8b"), List.of("round-robin",
                "least-connections"));
        ReplayReport r = run(c, poisson(8, 30, 500, 40));
        Map<String, Object> json = ReportJson.tree(r);
        assertThat(json).containsKeys("trace", "fleet", "requests", "policies");
        @SuppressWarnings("unchecked")
        Map<String, Object> p = (Map<String, Object>) ((List<Object>) json.get("policies")).get(0);
        assertThat(p).containsKeys("name", "completed", "shed", "throughput_rps", "output_tokens_per_s", "ttft_ms",
                "e2e_ms", "queue_ms", "prefix_hit_ratio", "load_imbalance", "slo_attainment");
        assertThat(((Map<?, ?>) p.get("ttft_ms")).keySet()).extracting(Object::toString).contains("p50", "p90", "p99");
        String html = ReportHtml.render(r);
        assertThat(html).contains("<svg", "round-robin", "least-connections", "polyline");
        assertThat(html).doesNotContain("<script", "href=", "src=");
        String table = ReportTable.render(r);
        assertThat(table).contains("TTFT p50", "round-robin", "least-connections", "req per CPU-second");
    }
}
