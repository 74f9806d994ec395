package io.sluice.sim.trace;

import java.nio.file.Path;

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
final class BurstGptCsvReader extends LineTraceReader {

    private long first = Long.MIN_VALUE;
    private int columns = 6;
    private int timeColumn = 0;
    private int inputColumn = 2;
    private int outputColumn = 3;

    BurstGptCsvReader(Path file, boolean skipBad) {
        super(file, skipBad);
    }

    @Override
    boolean header(String line) {
        if (!line.startsWith("Timestamp")) {
            return false;
        }
        String[] names = line.split(",", -1);
        columns = names.length;
        timeColumn = column(names, "Timestamp");
        inputColumn = column(names, "Request tokens");
        outputColumn = column(names, "Response tokens");
        return true;
    }

    @Override
    TraceRequest parse(String line) {
        String[] cells = line.split(",", -1);
        if (cells.length != columns) {
            throw new IllegalArgumentException("expected " + columns + " columns as in the header "
                    + "(Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type)");
        }
        double seconds;
        try {
            seconds = Double.parseDouble(cells[timeColumn].strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Timestamp '" + cells[timeColumn] + "' is not a number of seconds");
        }
        if (!(seconds >= 0) || Double.isInfinite(seconds)) {
            throw new IllegalArgumentException("Timestamp must be a non-negative number of seconds: "
                    + cells[timeColumn]);
        }
        int input = count(cells[inputColumn], "Request tokens");
        if (input < 1) {
            throw new IllegalArgumentException("Request tokens must be >= 1: " + input);
        }
        int output = Math.max(1, count(cells[outputColumn], "Response tokens"));
        long nanos = nanos(seconds, 1e9, "Timestamp");
        if (first == Long.MIN_VALUE) {
            first = nanos;
        }
        return TraceRequest.of(nanos - first, input, output);
    }

}
