package io.sluice.config;

import java.util.Locale;

/**
 * Byte sizes as written in configuration: a whole number with an optional unit, {@code 512}, {@code 64KiB},
 * {@code 10MB}; {@code KB MB GB} are powers of 1000 and {@code KiB MiB GiB} powers of 1024.
 */
public final class ByteSizes {

    private ByteSizes() {
    }

    /**
     * Parses a byte size.
     *
     * @throws IllegalArgumentException naming the text and the expected form
     */
    public static long parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("expected a size such as 64KiB or 1MiB, got nothing");
        }
        String s = text.strip();
        int i = 0;
        while (i < s.length() && Character.isDigit(s.charAt(i))) {
            i++;
        }
        if (i == 0) {
            throw bad(text);
        }
        long number;
        try {
            number = Long.parseLong(s.substring(0, i));
        } catch (NumberFormatException e) {
            throw bad(text);
        }
        long unit = switch (s.substring(i).strip().toLowerCase(Locale.ROOT)) {
            case "", "b" -> 1L;
            case "kb" -> 1_000L;
            case "mb" -> 1_000_000L;
            case "gb" -> 1_000_000_000L;
            case "kib", "k" -> 1L << 10;
            case "mib", "m" -> 1L << 20;
            case "gib", "g" -> 1L << 30;
            default -> throw bad(text);
        };
        if (number > Long.MAX_VALUE / unit) {
            throw new IllegalArgumentException("size '" + text + "' is too large");
        }
        return number * unit;
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("'" + text + "' is not a size (expected e.g. 512, 64KiB, 10MB)");
    }

    /** Formats a size with the largest binary unit that keeps it exact. */
    public static String format(long bytes) {
        if (bytes != 0 && bytes % (1L << 30) == 0) {
            return (bytes >> 30) + "GiB";
        }
        if (bytes != 0 && bytes % (1L << 20) == 0) {
            return (bytes >> 20) + "MiB";
        }
        if (bytes != 0 && bytes % (1L << 10) == 0) {
            return (bytes >> 10) + "KiB";
        }
        return bytes + "B";
    }
}
