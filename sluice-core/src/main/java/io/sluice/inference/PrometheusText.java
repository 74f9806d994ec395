package io.sluice.inference;

import java.nio.charset.StandardCharsets;

/**
 * A forward-only reader of the Prometheus text exposition format (version 0.0.4, and the OpenMetrics text that
 * model servers also emit), made to pick a dozen gauges out of a page of a thousand histogram lines cheaply.
 *
 * <p>It works on the raw bytes of the page. For each sample line it finds the metric name, the label block and the
 * value, and offers the sample to a visitor; comment lines ({@code # HELP}, {@code # TYPE}, {@code # EOF}) and blank
 * lines are skipped. Nothing is decoded or allocated unless the visitor asks for a label or the value of a sample it
 * wants, so the cost of a scrape is one pass over the bytes. Malformed lines are skipped rather than failing the
 * whole page: a scrape is evidence about load, and a partial reading beats none.
 *
 * <p>Format reference: the Prometheus "Exposition formats" document (text-based format) and the OpenMetrics 1.0
 * specification (label value escapes {@code \\}, {@code \"}, {@code \n}).
 */
final class PrometheusText {

    /** Receives the samples of a page. */
    interface Visitor {
        /** Called once per sample line; the sample is only valid during the call. */
        void sample(Sample sample);
    }

    /** One sample line, a view over the page bytes. */
    static final class Sample {
        private byte[] buf;
        private int nameStart;
        private int nameEnd;
        private int labelsStart;
        private int labelsEnd;
        private int valueStart;
        private int valueEnd;

        /** True if the metric name is exactly these ASCII bytes. */
        boolean nameIs(byte[] name) {
            int n = nameEnd - nameStart;
            if (n != name.length) {
                return false;
            }
            for (int i = 0; i < n; i++) {
                if (buf[nameStart + i] != name[i]) {
                    return false;
                }
            }
            return true;
        }

        /** The metric name (allocates; for diagnostics and tests). */
        String name() {
            return new String(buf, nameStart, nameEnd - nameStart, StandardCharsets.UTF_8);
        }

        /** The value of a label, unescaped, or null if the sample has no such label. */
        String label(String key) {
            int i = labelsStart;
            int end = labelsEnd;
            while (i < end) {
                while (i < end && (buf[i] == ' ' || buf[i] == ',')) {
                    i++;
                }
                int keyStart = i;
                while (i < end && buf[i] != '=' && buf[i] != ' ') {
                    i++;
                }
                int keyEnd = i;
                while (i < end && buf[i] != '"') {
                    i++;
                }
                if (i >= end) {
                    return null;
                }
                i++;
                int valueFrom = i;
                boolean escaped = false;
                while (i < end && buf[i] != '"') {
                    if (buf[i] == '\\') {
                        escaped = true;
                        i++;
                    }
                    i++;
                }
                int valueTo = Math.min(i, end);
                i++;
                if (keyEquals(keyStart, keyEnd, key)) {
                    return escaped ? unescape(valueFrom, valueTo)
                            : new String(buf, valueFrom, valueTo - valueFrom, StandardCharsets.UTF_8);
                }
            }
            return null;
        }

        /** True if the sample has the label with exactly this value. */
        boolean labelIs(String key, String value) {
            return value.equals(label(key));
        }

        /** The sample value; NaN if it does not parse. */
        double value() {
            int n = valueEnd - valueStart;
            if (n <= 0) {
                return Double.NaN;
            }
            // Small non-negative integers are the common case for gauges: parse them without a string.
            long v = 0;
            int i = valueStart;
            boolean integral = n < 16;
            for (; integral && i < valueEnd; i++) {
                byte c = buf[i];
                if (c < '0' || c > '9') {
                    integral = false;
                } else {
                    v = v * 10 + (c - '0');
                }
            }
            if (integral) {
                return v;
            }
            String s = new String(buf, valueStart, n, StandardCharsets.US_ASCII);
            switch (s) {
                case "+Inf":
                case "Inf":
                    return Double.POSITIVE_INFINITY;
                case "-Inf":
                    return Double.NEGATIVE_INFINITY;
                case "NaN":
                    return Double.NaN;
                default:
                    try {
                        return Double.parseDouble(s);
                    } catch (NumberFormatException e) {
                        return Double.NaN;
                    }
            }
        }

        private boolean keyEquals(int from, int to, String key) {
            if (to - from != key.length()) {
                return false;
            }
            for (int k = 0; k < key.length(); k++) {
                if (buf[from + k] != key.charAt(k)) {
                    return false;
                }
            }
            return true;
        }

        private String unescape(int from, int to) {
            byte[] raw = new byte[to - from];
            int len = 0;
            for (int i = from; i < to; i++) {
                byte c = buf[i];
                if (c == '\\' && i + 1 < to) {
                    byte e = buf[++i];
                    raw[len++] = e == 'n' ? (byte) '\n' : e;
                } else {
                    raw[len++] = c;
                }
            }
            return new String(raw, 0, len, StandardCharsets.UTF_8);
        }
    }

    private PrometheusText() {
    }

    /** Reads every sample of {@code length} bytes from {@code offset}, offering each to the visitor. */
    static void scan(byte[] buf, int offset, int length, Visitor visitor) {
        Sample s = new Sample();
        s.buf = buf;
        int end = offset + length;
        int i = offset;
        while (i < end) {
            int lineEnd = i;
            while (lineEnd < end && buf[lineEnd] != '\n') {
                lineEnd++;
            }
            int next = lineEnd + 1;
            if (lineEnd > i && buf[lineEnd - 1] == '\r') {
                lineEnd--;
            }
            while (i < lineEnd && (buf[i] == ' ' || buf[i] == '\t')) {
                i++;
            }
            if (i < lineEnd && buf[i] != '#' && parseLine(s, i, lineEnd)) {
                visitor.sample(s);
            }
            i = next;
        }
    }

    private static boolean parseLine(Sample s, int from, int to) {
        byte[] buf = s.buf;
        int i = from;
        while (i < to && buf[i] != '{' && buf[i] != ' ' && buf[i] != '\t') {
            i++;
        }
        s.nameStart = from;
        s.nameEnd = i;
        if (i < to && buf[i] == '{') {
            int labels = ++i;
            boolean quoted = false;
            while (i < to && (quoted || buf[i] != '}')) {
                if (buf[i] == '\\' && quoted) {
                    i++;
                } else if (buf[i] == '"') {
                    quoted = !quoted;
                }
                i++;
            }
            if (i >= to) {
                return false;
            }
            s.labelsStart = labels;
            s.labelsEnd = i;
            i++;
        } else {
            s.labelsStart = i;
            s.labelsEnd = i;
        }
        while (i < to && (buf[i] == ' ' || buf[i] == '\t')) {
            i++;
        }
        int valueStart = i;
        while (i < to && buf[i] != ' ' && buf[i] != '\t') {
            i++;
        }
        s.valueStart = valueStart;
        s.valueEnd = i;
        return s.nameEnd > s.nameStart && i > valueStart;
    }
}
