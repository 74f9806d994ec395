package io.sluice.sim.trace;

import java.util.NoSuchElementException;
import java.util.Optional;

/**
 * Replays a workload faster, and with a burst: maps workload time to replay time so that requests arrive
 * {@code speedup} times as fast, and {@code speedup × factor} times as fast inside the spike window.
 *
 * <p>Time is stretched rather than requests copied, so a Poisson stream stays a Poisson stream (at the higher
 * rate inside the window) and a trace keeps its real mix and order: an 8× spike of two minutes replays sixteen
 * minutes of the trace. The mapping is piecewise linear and computed as requests stream through.
 */
public final class TimeWarp implements RequestStream {

    private final RequestStream source;
    private final double speedup;
    private final Optional<Spike> spike;
    private final long limit;
    private long emitted;
    private long lastSource;
    private double lastReplay;

    /**
     * Wraps a stream.
     *
     * @param speedup how many times faster than recorded (1: as recorded)
     * @param spike   an optional burst
     * @param limit   stop after this many requests (0: no limit)
     */
    public TimeWarp(RequestStream source, double speedup, Optional<Spike> spike, long limit) {
        if (!(speedup > 0) || Double.isInfinite(speedup)) {
            throw new IllegalArgumentException("speedup must be above 0: " + speedup);
        }
        this.source = source;
        this.speedup = speedup;
        this.spike = spike;
        this.limit = limit;
    }

    @Override
    public boolean hasNext() {
        return (limit <= 0 || emitted < limit) && source.hasNext();
    }

    @Override
    public TraceRequest next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        TraceRequest r = source.next();
        emitted++;
        long at = map(r.arrivalNanos());
        return at == r.arrivalNanos() ? r : r.withArrival(at);
    }

    /** Advances the mapping to a later source time and returns the replay time. */
    private long map(long sourceNanos) {
        double remaining = sourceNanos - lastSource;
        double t = lastReplay;
        if (spike.isPresent()) {
            Spike s = spike.get();
            double start = s.start().toNanos();
            double end = start + s.duration().toNanos();
            if (t < start) {
                double until = (start - t) * speedup;
                if (remaining <= until) {
                    t += remaining / speedup;
                    remaining = 0;
                } else {
                    t = start;
                    remaining -= until;
                }
            }
            if (remaining > 0 && t >= start && t < end) {
                double rate = speedup * s.factor();
                double until = (end - t) * rate;
                if (remaining <= until) {
                    t += remaining / rate;
                    remaining = 0;
                } else {
                    t = end;
                    remaining -= until;
                }
            }
        }
        t += remaining / speedup;
        lastSource = sourceNanos;
        lastReplay = t;
        return Math.round(t);
    }

    @Override
    public long skipped() {
        return source.skipped();
    }

    @Override
    public String describe() {
        return source.describe();
    }

    @Override
    public void close() {
        source.close();
    }
}
