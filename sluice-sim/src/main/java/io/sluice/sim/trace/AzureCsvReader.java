package io.sluice.sim.trace;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.List;

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
final class AzureCsvReader extends CsvTraceReader {

    private static final DateTimeFormatter TIME = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .optionalStart().appendOffset("+HH:MM", "Z").optionalEnd()
            .toFormatter();

    AzureCsvReader(Path file, boolean skipBad) {
        super(file, skipBad, List.of("TIMESTAMP", "ContextTokens", "GeneratedTokens"), "TIMESTAMP", "ContextTokens",
                "GeneratedTokens");
    }

    @Override
    long nanos(String cell) {
        try {
            TemporalAccessor t = TIME.parse(cell.strip());
            ZoneOffset offset = t.isSupported(ChronoField.OFFSET_SECONDS)
                    ? ZoneOffset.ofTotalSeconds(t.get(ChronoField.OFFSET_SECONDS)) : ZoneOffset.UTC;
            LocalDateTime local = LocalDateTime.from(t);
            return local.toEpochSecond(offset) * 1_000_000_000L + local.getNano();
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException("bad TIMESTAMP '" + cell + "'");
        }
    }
}
