package io.sluice.sim.trace;

import java.nio.file.Path;
import java.util.List;

/**
 * Reads BurstGPT traces (Wang et al., "BurstGPT: A Real-world Workload Dataset to Optimize LLM Serving Systems",
 * HPMLL/BurstGPT, CC-BY-4.0): {@code Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type}, one
 * request per row, {@code Timestamp} in seconds. Arrival times are made relative to the first row. Columns are
 * found by name in the header (the order above without one).
 *
 * <p>The model column is ignored: the replayed fleet serves one model, and BurstGPT's two services (ChatGPT and
 * GPT-4) are replayed as one stream. A row with 0 response tokens (the request failed in the original service) is
 * replayed as a one-token answer: it still arrived and its prompt was still computed. The trace records no prompt
 * content, so requests share no prefix.
 */
final class BurstGptCsvReader extends CsvTraceReader {

    BurstGptCsvReader(Path file, boolean skipBad) {
        super(file, skipBad, List.of("Timestamp", "Model", "Request tokens", "Response tokens", "Total tokens",
                "Log Type"), "Timestamp", "Request tokens", "Response tokens");
    }

    @Override
    long nanos(String cell) {
        double seconds;
        try {
            seconds = Double.parseDouble(cell.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Timestamp '" + cell + "' is not a number of seconds");
        }
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("Timestamp must be a non-negative number of seconds: " + cell);
        }
        return nanos(seconds, 1e9, "Timestamp");
    }
}
