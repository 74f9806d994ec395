package io.sluice.sim.trace;

import io.sluice.config.Durations;
import java.time.Duration;

/**
 * A burst of traffic: for {@code duration} from {@code start} (replay time), requests arrive {@code factor} times
 * as fast. Written {@code FACTOR@START+DURATION}, e.g. {@code 8@10m+2m}.
 *
 * @param factor   the arrival-rate multiplier, above 0
 * @param start    when the burst begins, from the start of the replay
 * @param duration how long it lasts
 */
public record Spike(double factor, Duration start, Duration duration) {

    /** Checks the fields. */
    public Spike {
        if (!(factor > 0) || Double.isInfinite(factor)) {
            throw new IllegalArgumentException("spike factor must be above 0: " + factor);
        }
        if (start.isNegative() || duration.isNegative() || duration.isZero()) {
            throw new IllegalArgumentException("spike start must be >= 0 and duration > 0");
        }
    }

    /** Parses {@code FACTOR@START+DURATION}. */
    public static Spike parse(String text) {
        int at = text.indexOf('@');
        int plus = text.indexOf('+', at + 1);
        if (at <= 0 || plus < 0) {
            throw new IllegalArgumentException("spike '" + text + "' is not FACTOR@START+DURATION (e.g. 8@10m+2m)");
        }
        double factor;
        try {
            factor = Double.parseDouble(text.substring(0, at).replace("x", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("spike factor '" + text.substring(0, at) + "' is not a number");
        }
        return new Spike(factor, Durations.parse(text.substring(at + 1, plus)),
                Durations.parse(text.substring(plus + 1)));
    }

    @Override
    public String toString() {
        return factor + "x@" + Durations.format(start) + "+" + Durations.format(duration);
    }
}
