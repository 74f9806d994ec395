package io.sluice.sim.trace;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.TemporalAccessor;
import java.time.temporal.ChronoField;

/**
 * Reads the Azure LLM inference traces (Splitwise, ISCA'24): {@code TIMESTAMP,ContextTokens,GeneratedTokens} with
 * timestamps like {@code 2023-11-16 18:17:03.9799600}. Arrival times are made relative to the first row. The
 * traces record no prompt content, so requests share no prefix.
 *
 * <p>Columns are found by name in the header, so the later traces of the same family read too: the 2024
 * week-long ones (same three columns, timestamps like {@code 2024-05-10 00:00:00.009930+00:00}: an offset, when
 * present, is applied) and the 2025 multimodal one ({@code TIMESTAMP,NumImages,ContextTokens,GeneratedTokens};
 * the images are ignored, their tokens are in {@code ContextTokens}). Without a header the three columns are
 * taken in that order. A row with 0 generated tokens is replayed as a one-token answer, as in the other readers.
 */
final class AzureCsvReader extends LineTraceReader {

    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
            .toFormatter();

    private long first = Long.MIN_VALUE;
    private int columns = 3;
    private int timeColumn = 0;
    private int inputColumn = 1;
    private int outputColumn = 2;

    AzureCsvReader(Path file, boolean skipBad) {
        super(file, skipBad);
    }

    @Override
    boolean header(String line) {
        if (!line.startsWith("TIMESTAMP")) {
            return false;
        }
        String[] names = line.split(",", -1);
        columns = names.length;
        timeColumn = column(names, "TIMESTAMP");
        inputColumn = column(names, "ContextTokens");
        outputColumn = column(names, "GeneratedTokens");
        return true;
    }

    @Override
    TraceRequest parse(String line) {
        String[] cells = line.split(",", -1);
        if (cells.length != columns) {
            throw new IllegalArgumentException("expected " + columns + " columns"
                    + (columns == 3 ? " TIMESTAMP,ContextTokens,GeneratedTokens" : " as in the header"));
        }
        String time = cells[timeColumn];
        long nanos;
        try {
            TemporalAccessor t = TIME.parse(time.strip());
            ZoneOffset offset = t.isSupported(ChronoField.OFFSET_SECONDS)
                    ? ZoneOffset.ofTotalSeconds(t.get(ChronoField.OFFSET_SECONDS)) : ZoneOffset.UTC;
            LocalDateTime local = LocalDateTime.from(t);
            nanos = local.toEpochSecond(offset) * 1_000_000_000L + local.getNano();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("bad TIMESTAMP '" + time + "'");
        }
        int input = positive(cells[inputColumn], "ContextTokens");
        int output = Math.max(1, count(cells[outputColumn], "GeneratedTokens"));
        if (first == Long.MIN_VALUE) {
            first = nanos;
        }
        return TraceRequest.of(nanos - first, input, output);
    }

    private static int positive(String text, String column) {
        int v = count(text, column);
        if (v < 1) {
            throw new IllegalArgumentException(column + " must be >= 1: " + v);
        }
        return v;
    }
}
