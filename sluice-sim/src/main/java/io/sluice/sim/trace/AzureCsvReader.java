package io.sluice.sim.trace;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;

/**
 * Reads the Azure LLM inference traces (Splitwise, ISCA'24): {@code TIMESTAMP,ContextTokens,GeneratedTokens} with
 * timestamps like {@code 2023-11-16 18:17:03.9799600}. Arrival times are made relative to the first row. The
 * traces record no prompt content, so requests share no prefix.
 */
final class AzureCsvReader extends LineTraceReader {

    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .toFormatter();

    private long first = Long.MIN_VALUE;

    AzureCsvReader(Path file, boolean skipBad) {
        super(file, skipBad);
    }

    @Override
    boolean header(String line) {
        return line.startsWith("TIMESTAMP");
    }

    @Override
    TraceRequest parse(String line) {
        int a = line.indexOf(',');
        int b = a < 0 ? -1 : line.indexOf(',', a + 1);
        if (b < 0 || line.indexOf(',', b + 1) >= 0) {
            throw new IllegalArgumentException("expected 3 columns TIMESTAMP,ContextTokens,GeneratedTokens");
        }
        long nanos;
        try {
            LocalDateTime t = LocalDateTime.parse(line.substring(0, a).strip(), TIME);
            nanos = t.toEpochSecond(ZoneOffset.UTC) * 1_000_000_000L + t.getNano();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("bad TIMESTAMP '" + line.substring(0, a) + "'");
        }
        int input = positive(line.substring(a + 1, b), "ContextTokens");
        int output = positive(line.substring(b + 1), "GeneratedTokens");
        if (first == Long.MIN_VALUE) {
            first = nanos;
        }
        return TraceRequest.of(nanos - first, input, output);
    }

    private static int positive(String text, String column) {
        int v;
        try {
            v = Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(column + " '" + text + "' is not a whole number");
        }
        if (v < 1) {
            throw new IllegalArgumentException(column + " must be >= 1: " + v);
        }
        return v;
    }
}
