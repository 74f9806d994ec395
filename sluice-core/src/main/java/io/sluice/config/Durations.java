package io.sluice.config;

import java.time.Duration;

/**
 * Durations as written in configuration: a sequence of number-unit pairs such as {@code 250ms}, {@code 2s},
 * {@code 1m30s} or {@code 1.5h}; units {@code ns us ms s m h d}; a bare {@code 0} means zero.
 */
public final class Durations {

    private Durations() {
    }

    /**
     * Parses a duration.
     *
     * @throws IllegalArgumentException naming the text and the expected form
     */
    public static Duration parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("expected a duration such as 250ms, 2s or 1m, got nothing");
        }
        String s = text.strip();
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        long nanos = 0;
        int i = 0;
        boolean any = false;
        while (i < s.length()) {
            int start = i;
            while (i < s.length() && (Character.isDigit(s.charAt(i)) || s.charAt(i) == '.')) {
                i++;
            }
            int unitStart = i;
            while (i < s.length() && Character.isLetter(s.charAt(i))) {
                i++;
            }
            if (start == unitStart || unitStart == i) {
                throw bad(text);
            }
            double number;
            try {
                number = Double.parseDouble(s.substring(start, unitStart));
            } catch (NumberFormatException e) {
                throw bad(text);
            }
            long unit = switch (s.substring(unitStart, i)) {
                case "ns" -> 1L;
                case "us", "µs" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                case "h" -> 3_600_000_000_000L;
                case "d" -> 86_400_000_000_000L;
                default -> throw bad(text);
            };
            double add = number * unit;
            if (add > Long.MAX_VALUE / 2.0 || nanos + add > Long.MAX_VALUE / 2.0) {
                throw new IllegalArgumentException("duration '" + text + "' is too long");
            }
            nanos += Math.round(add);
            any = true;
        }
        if (!any) {
            throw bad(text);
        }
        return Duration.ofNanos(nanos);
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("'" + text + "' is not a duration (expected e.g. 250ms, 2s, 1m30s; "
                + "units ns, us, ms, s, m, h, d)");
    }

    /** Formats a duration in the same syntax, using the largest unit that keeps it exact. */
    public static String format(Duration d) {
        long n = d.toNanos();
        if (n == 0) {
            return "0s";
        }
        long[] units = {86_400_000_000_000L, 3_600_000_000_000L, 60_000_000_000L, 1_000_000_000L, 1_000_000L,
            1_000L, 1L};
        String[] names = {"d", "h", "m", "s", "ms", "us", "ns"};
        for (int i = 0; i < units.length; i++) {
            if (n % units[i] == 0) {
                return (n / units[i]) + names[i];
            }
        }
        return n + "ns";
    }
}
