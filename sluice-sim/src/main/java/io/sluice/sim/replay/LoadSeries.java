package io.sluice.sim.replay;

/**
 * Each endpoint's in-flight requests over time, as time-weighted averages in a bounded number of buckets.
 *
 * <p>Every change of an endpoint's count adds the area under the old value since the last change. Buckets start
 * one second wide; when time runs past the last bucket, neighbours merge and the width doubles, so memory stays
 * fixed however long the replay (the plot keeps between {@code MAX_BUCKETS / 2} and {@code MAX_BUCKETS} points).
 */
final class LoadSeries {

    static final int MAX_BUCKETS = 400;

    private final double[][] area;
    private final double[] total;
    private final long[] lastChange;
    private final int[] value;
    private long width = 1_000_000_000L;
    private long start = -1;
    private int used;

    LoadSeries(int endpoints) {
        area = new double[endpoints][MAX_BUCKETS];
        total = new double[endpoints];
        lastChange = new long[endpoints];
        value = new int[endpoints];
    }

    /** Sets an endpoint's count at a time (times never decrease). */
    void set(int endpoint, long now, int newValue) {
        if (start < 0) {
            start = now;
            java.util.Arrays.fill(lastChange, now);
        }
        accumulate(endpoint, now);
        value[endpoint] = newValue;
    }

    private void accumulate(int e, long now) {
        long from = lastChange[e];
        lastChange[e] = now;
        int v = value[e];
        if (v == 0 || now <= from) {
            return;
        }
        total[e] += (double) v * (now - from);
        while (now - start > width * MAX_BUCKETS) {
            merge();
        }
        long t = from;
        while (t < now) {
            int b = (int) ((t - start) / width);
            long bucketEnd = start + (b + 1) * width;
            long until = Math.min(now, bucketEnd);
            area[e][b] += (double) v * (until - t);
            used = Math.max(used, b + 1);
            t = until;
        }
    }

    private void merge() {
        for (double[] a : area) {
            for (int i = 0; i < MAX_BUCKETS / 2; i++) {
                a[i] = a[2 * i] + a[2 * i + 1];
            }
            java.util.Arrays.fill(a, MAX_BUCKETS / 2, MAX_BUCKETS, 0);
        }
        width *= 2;
        used = (used + 1) / 2;
    }

    /** Closes every endpoint's open interval at the end of the replay. */
    void finish(long now) {
        if (start < 0) {
            return;
        }
        for (int e = 0; e < value.length; e++) {
            accumulate(e, now);
        }
    }

    /** Time-averaged in-flight requests of an endpoint over {@code span}. */
    double mean(int endpoint, long span) {
        return span <= 0 ? 0 : total[endpoint] / span;
    }

    /** Bucket width in nanoseconds. */
    long width() {
        return width;
    }

    /** Buckets with data. */
    int buckets() {
        return used;
    }

    /** The average count of an endpoint in a bucket. */
    double average(int endpoint, int bucket) {
        return area[endpoint][bucket] / width;
    }

    int endpoints() {
        return value.length;
    }
}
