package io.sluice.sim.replay;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.HdrHistogram.Histogram;

/**
 * Writes {@code report.html}: the comparison table, the TTFT distribution of every policy as a CDF on a log
 * axis, and each policy's per-endpoint load over time. Plots are inline SVG drawn here, so the file opens
 * anywhere with no network and no script.
 */
public final class ReportHtml {

    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int W = 720;
    private static final int H = 300;
    private static final int L = 60;
    private static final int R = 20;
    private static final int T = 20;
    private static final int B = 40;

    private ReportHtml() {
    }

    /** Writes the report to a file. */
    public static void write(ReplayReport report, Path file) throws IOException {
        Files.writeString(file, render(report));
    }

    /** The whole page. */
    public static String render(ReplayReport report) {
        StringBuilder b = new StringBuilder();
        b.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>Sluice replay: ").append(esc(report.trace())).append("</title><style>")
                .append("body{font-family:system-ui,sans-serif;margin:2em;color:#222}")
                .append("table{border-collapse:collapse;font-size:14px}")
                .append("td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:right}")
                .append("td:first-child,th:first-child{text-align:left}")
                .append("svg{background:#fff;border:1px solid #eee;margin:8px 0}")
                .append("text{font-size:11px;fill:#444}</style></head><body>\n");
        b.append("<h1>Replay of ").append(esc(report.trace())).append("</h1>\n<p>Fleet <b>")
                .append(esc(report.fleet())).append("</b>, ").append(String.format(Locale.ROOT, "%,d",
                        report.requests())).append(" requests, TTFT objective ")
                .append(ReportTable.time(report.sloTtft().toMillis())).append(", seed ").append(report.seed())
                .append(".</p>\n");
        table(b, report);
        for (PolicyResult r : report.policies()) {
            if (r.spikeTtft().getTotalCount() > 0) {
                b.append("<p>During the spike window, <b>").append(esc(r.policy())).append("</b>: TTFT p50 ")
                        .append(ReportTable.time(PolicyResult.millis(r.spikeTtft(), 50))).append(", p99 ")
                        .append(ReportTable.time(PolicyResult.millis(r.spikeTtft(), 99))).append(" (")
                        .append(r.spikeTtft().getTotalCount()).append(" requests).</p>\n");
            }
        }
        b.append("<h2>Time to first token (CDF)</h2>\n");
        cdf(b, report);
        b.append("<h2>In-flight requests per endpoint over time</h2>\n");
        int i = 0;
        for (PolicyResult r : report.policies()) {
            b.append("<h3>").append(esc(r.policy())).append("</h3>\n");
            load(b, r, COLORS[i++ % COLORS.length]);
        }
        b.append("</body></html>\n");
        return b.toString();
    }

    private static void table(StringBuilder b, ReplayReport report) {
        b.append("<table><tr><th>policy</th><th>completed</th><th>shed</th><th>failed</th><th>req/s</th>")
                .append("<th>out tok/s</th><th>TTFT p50</th><th>p90</th><th>p99</th><th>E2E p50</th><th>p99</th>")
                .append("<th>queue p99</th><th>prefix hit</th><th>load max/mean</th><th>SLO</th></tr>\n");
        for (PolicyResult r : report.policies()) {
            b.append("<tr><td>").append(esc(r.policy())).append("</td>");
            cell(b, String.format(Locale.ROOT, "%,d", r.completed()));
            cell(b, String.format(Locale.ROOT, "%,d", r.shed()));
            cell(b, String.format(Locale.ROOT, "%,d", r.failed()));
            cell(b, String.format(Locale.ROOT, "%.2f", r.throughputRps()));
            cell(b, String.format(Locale.ROOT, "%,.0f", r.outputTokensPerSecond()));
            for (double p : new double[] {50, 90, 99}) {
                cell(b, ReportTable.time(PolicyResult.millis(r.ttft(), p)));
            }
            cell(b, ReportTable.time(PolicyResult.millis(r.e2e(), 50)));
            cell(b, ReportTable.time(PolicyResult.millis(r.e2e(), 99)));
            cell(b, ReportTable.time(PolicyResult.millis(r.queue(), 99)));
            cell(b, String.format(Locale.ROOT, "%.1f%%", r.prefixHitRatio() * 100));
            cell(b, String.format(Locale.ROOT, "%.2f", r.loadImbalance()));
            cell(b, String.format(Locale.ROOT, "%.1f%%", r.sloAttainment() * 100));
            b.append("</tr>\n");
        }
        b.append("</table>\n");
    }

    private static void cell(StringBuilder b, String text) {
        b.append("<td>").append(esc(text)).append("</td>");
    }

    private static void cdf(StringBuilder b, ReplayReport report) {
        double min = Double.MAX_VALUE;
        double max = 0;
        for (PolicyResult r : report.policies()) {
            Histogram h = r.ttft();
            if (h.getTotalCount() > 0) {
                min = Math.min(min, Math.max(0.1, h.getMinValue() / 1000.0));
                max = Math.max(max, h.getMaxValue() / 1000.0);
            }
        }
        if (max == 0) {
            b.append("<p>No request got a first token.</p>\n");
            return;
        }
        double lo = Math.log10(min);
        double hi = Math.max(lo + 1, Math.log10(max) + 0.05);
        svgStart(b);
        for (int d = (int) Math.floor(lo); d <= Math.ceil(hi); d++) {
            double x = L + (d - lo) / (hi - lo) * (W - L - R);
            if (x >= L && x <= W - R) {
                b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        + "stroke=\"#eee\"/><text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>", x, T, x,
                        H - B, x, H - B + 15, ReportTable.time(Math.pow(10, d))));
            }
        }
        yAxis(b, 1.0, "fraction of requests");
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">TTFT (log scale)"
                + "</text>", (W + L) / 2, H - 5));
        int i = 0;
        for (PolicyResult r : report.policies()) {
            Histogram h = r.ttft();
            String color = COLORS[i % COLORS.length];
            if (h.getTotalCount() > 0) {
                StringBuilder pts = new StringBuilder();
                for (int q = 0; q <= 1000; q++) {
                    double pct = q < 900 ? q / 10.0 : 90 + (q - 900) / 10.0;
                    double ms = Math.max(min, h.getValueAtPercentile(Math.min(100, pct)) / 1000.0);
                    double x = L + (Math.log10(ms) - lo) / (hi - lo) * (W - L - R);
                    double y = T + (1 - pct / 100) * (H - T - B);
                    pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                    if (q >= 900 && pct >= 100) {
                        break;
                    }
                }
                b.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"2\" points=\"")
                        .append(pts.toString().strip()).append("\"/>");
            }
            b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/>"
                    + "<text x=\"%d\" y=\"%d\">%s</text>", W - R - 190, T + 12 + 16 * i, color, W - R - 172,
                    T + 16 + 16 * i, esc(r.policy())));
            i++;
        }
        b.append("</svg>\n");
    }

    private static void load(StringBuilder b, PolicyResult r, String baseColor) {
        LoadSeries s = r.series();
        int n = s.buckets();
        if (n == 0) {
            b.append("<p>No load recorded.</p>\n");
            return;
        }
        double max = 1;
        for (int e = 0; e < s.endpoints(); e++) {
            for (int k = 0; k < n; k++) {
                max = Math.max(max, s.average(e, k));
            }
        }
        svgStart(b);
        yAxis(b, max, "in-flight requests");
        double seconds = n * s.width() / 1e9;
        for (int k = 0; k <= 4; k++) {
            double x = L + k / 4.0 * (W - L - R);
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0fs</text>", x,
                    H - B + 15, seconds * k / 4));
        }
        for (int e = 0; e < s.endpoints(); e++) {
            StringBuilder pts = new StringBuilder();
            for (int k = 0; k < n; k++) {
                double x = L + (k + 0.5) / n * (W - L - R);
                double y = T + (1 - s.average(e, k) / max) * (H - T - B);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            String color = s.endpoints() == 1 ? baseColor : COLORS[e % COLORS.length];
            b.append("<polyline fill=\"none\" stroke=\"").append(color)
                    .append("\" stroke-opacity=\"0.8\" stroke-width=\"1.2\" points=\"")
                    .append(pts.toString().strip()).append("\"><title>endpoint ").append(e).append("</title>")
                    .append("</polyline>");
        }
        b.append("</svg>\n");
    }

    private static void svgStart(StringBuilder b) {
        b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "viewBox=\"0 0 %d %d\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>"
                + "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>", W, H, W, H, L, H - B, W - R,
                H - B, L, T, L, H - B));
    }

    private static void yAxis(StringBuilder b, double max, String label) {
        for (int k = 0; k <= 4; k++) {
            double v = max * k / 4;
            double y = T + (1 - k / 4.0) * (H - T - B);
            b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>", L, y, W - R, y, L - 5, y + 4,
                    max <= 1 ? String.format(Locale.ROOT, "%.2f", v) : String.format(Locale.ROOT, "%.1f", v)));
        }
        b.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" "
                + "text-anchor=\"middle\">%s</text>", (H - B + T) / 2, (H - B + T) / 2, label));
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
