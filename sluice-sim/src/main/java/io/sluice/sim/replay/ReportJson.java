package io.sluice.sim.replay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import tools.jackson.databind.SerializationFeature;
import tools.jackson.databind.json.JsonMapper;

/**
 * Writes {@code report.json}: the contract of issue 6 ({@code trace}, {@code fleet}, {@code requests}, and per
 * policy {@code name}, {@code completed}, {@code shed}, {@code throughput_rps}, {@code output_tokens_per_s},
 * {@code ttft_ms} p50/p90/p99, {@code e2e_ms} p50/p99, {@code queue_ms} p99, {@code prefix_hit_ratio},
 * {@code load_imbalance}, {@code slo_attainment}), plus a few more keys that scripts may ignore
 * ({@code queued}, {@code failures}, {@code pool_config} — the settings of the replayed pools, ...).
 */
public final class ReportJson {

    private static final JsonMapper JSON = JsonMapper.builder().enable(SerializationFeature.INDENT_OUTPUT).build();

    private ReportJson() {
    }

    /** The report as a JSON tree of maps and lists. */
    public static Map<String, Object> tree(ReplayReport report) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("trace", report.trace());
        root.put("fleet", report.fleet());
        root.put("requests", report.requests());
        root.put("slo_ttft_ms", report.sloTtft().toMillis());
        root.put("seed", report.seed());
        root.put("pool_config", report.poolSettings().asMap());
        List<Object> policies = new ArrayList<>();
        for (PolicyResult r : report.policies()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("name", r.policy());
            p.put("pool_config_applied", report.poolSettings().appliesTo(r.policy()));
            p.put("completed", r.completed());
            p.put("shed", r.shed());
            p.put("queued", r.queued());
            p.put("failed", r.failed());
            p.put("failures", r.failures());
            p.put("throughput_rps", round(r.throughputRps()));
            p.put("output_tokens_per_s", round(r.outputTokensPerSecond()));
            p.put("ttft_ms", ordered("p50", ms(r, r.ttft(), 50), "p90", ms(r, r.ttft(), 90),
                    "p99", ms(r, r.ttft(), 99)));
            p.put("e2e_ms", ordered("p50", ms(r, r.e2e(), 50), "p99", ms(r, r.e2e(), 99)));
            p.put("queue_ms", ordered("p99", ms(r, r.queue(), 99)));
            p.put("prefix_hit_ratio", round(r.prefixHitRatio()));
            p.put("load_imbalance", round(r.loadImbalance()));
            p.put("slo_attainment", round(r.sloAttainment()));
            p.put("preemptions", r.preemptions());
            if (r.spikeTtft().getTotalCount() > 0) {
                p.put("spike_ttft_ms", ordered("p50", ms(r, r.spikeTtft(), 50), "p90", ms(r, r.spikeTtft(), 90),
                        "p99", ms(r, r.spikeTtft(), 99), "requests", r.spikeTtft().getTotalCount()));
            }
            p.put("endpoint_load", r.endpointLoad().stream().map(ReportJson::round).toList());
            p.put("endpoint_requests", r.endpointRequests());
            p.put("wall_seconds", round(r.wallNanos() / 1e9));
            p.put("cpu_seconds", round(r.cpuNanos() / 1e9));
            policies.add(p);
        }
        root.put("policies", policies);
        return root;
    }

    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static double ms(PolicyResult r, org.HdrHistogram.Histogram h, double percentile) {
        return round(PolicyResult.millis(h, percentile));
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }

    /** Writes the report to a file. */
    public static void write(ReplayReport report, Path file) throws IOException {
        Files.writeString(file, JSON.writeValueAsString(tree(report)) + System.lineSeparator());
    }
}
