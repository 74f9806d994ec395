package io.sluice.sim.replay;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders a replay report as a terminal table, one row per policy. */
public final class ReportTable {

    private static final String[] HEADERS = {"policy", "completed", "shed", "queued", "failed", "req/s", "out tok/s",
        "TTFT p50", "p90", "p99", "E2E p50", "p99", "queue p99", "prefix hit", "load max/mean", "SLO"};

    private ReportTable() {
    }

    /** The table, with a title line and a footer line. */
    public static String render(ReplayReport report) {
        List<String[]> rows = new ArrayList<>();
        for (PolicyResult r : report.policies()) {
            rows.add(new String[] {
                r.policy(), count(r.completed()), count(r.shed()), count(r.queued()), count(r.failed()),
                String.format(Locale.ROOT, "%.2f", r.throughputRps()),
                String.format(Locale.ROOT, "%,.0f", r.outputTokensPerSecond()),
                time(PolicyResult.millis(r.ttft(), 50)), time(PolicyResult.millis(r.ttft(), 90)),
                time(PolicyResult.millis(r.ttft(), 99)), time(PolicyResult.millis(r.e2e(), 50)),
                time(PolicyResult.millis(r.e2e(), 99)), time(PolicyResult.millis(r.queue(), 99)),
                String.format(Locale.ROOT, "%.1f%%", r.prefixHitRatio() * 100),
                String.format(Locale.ROOT, "%.2f", r.loadImbalance()),
                String.format(Locale.ROOT, "%.1f%%", r.sloAttainment() * 100)});
        }
        int[] widths = new int[HEADERS.length];
        for (int c = 0; c < HEADERS.length; c++) {
            widths[c] = HEADERS[c].length();
            for (String[] row : rows) {
                widths[c] = Math.max(widths[c], row[c].length());
            }
        }
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "replay of %s (%,d requests) on %s, SLO: TTFT <= %s%n", report.trace(),
                report.requests(), report.fleet(), time(report.sloTtft().toMillis())));
        line(b, HEADERS, widths);
        StringBuilder rule = new StringBuilder();
        for (int c = 0; c < widths.length; c++) {
            rule.append(c == 0 ? "" : "  ").append("-".repeat(widths[c]));
        }
        b.append(rule).append(System.lineSeparator());
        for (String[] row : rows) {
            line(b, row, widths);
        }
        for (PolicyResult r : report.policies()) {
            if (!r.failures().isEmpty()) {
                b.append(String.format(Locale.ROOT, "  %-" + widths[0] + "s  failed: %s%n", r.policy(),
                        new java.util.TreeMap<>(r.failures())));
            }
        }
        boolean spike = report.policies().stream().anyMatch(r -> r.spikeTtft().getTotalCount() > 0);
        if (spike) {
            b.append("requests that arrived during the spike:").append(System.lineSeparator());
            for (PolicyResult r : report.policies()) {
                b.append(String.format(Locale.ROOT, "  %-" + widths[0] + "s  TTFT p50 %s  p90 %s  p99 %s  "
                        + "(%,d requests)%n", r.policy(), time(PolicyResult.millis(r.spikeTtft(), 50)),
                        time(PolicyResult.millis(r.spikeTtft(), 90)), time(PolicyResult.millis(r.spikeTtft(), 99)),
                        r.spikeTtft().getTotalCount()));
            }
        }
        double simulated = 0;
        for (PolicyResult r : report.policies()) {
            simulated += r.requests();
        }
        double cpu = 0;
        for (PolicyResult r : report.policies()) {
            cpu += r.cpuNanos() / 1e9;
        }
        b.append(String.format(Locale.ROOT, "simulated %,.0f requests in %.2f s of wall time (%,.0f req/s; "
                + "%,.0f req per CPU-second)%n", simulated, report.wallNanos() / 1e9,
                simulated / Math.max(report.wallNanos() / 1e9, 1e-9), cpu > 0 ? simulated / cpu : 0));
        return b.toString();
    }

    private static void line(StringBuilder b, String[] cells, int[] widths) {
        for (int c = 0; c < cells.length; c++) {
            if (c == 0) {
                b.append(String.format("%-" + widths[c] + "s", cells[c]));
            } else {
                b.append("  ").append(String.format("%" + widths[c] + "s", cells[c]));
            }
        }
        b.append(System.lineSeparator());
    }

    private static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** Milliseconds as {@code 850ms} or {@code 3.21s}. */
    static String time(double millis) {
        if (millis < 1000) {
            return String.format(Locale.ROOT, "%.0fms", millis);
        }
        return String.format(Locale.ROOT, "%.2fs", millis / 1000);
    }
}
