package io.sluice.sim.trace;

import java.nio.file.Path;
import java.util.List;

/**
 * The common part of the CSV trace readers (Azure, BurstGPT): one request per row, with an arrival time, prompt
 * tokens and output tokens in columns found by name in the header (in {@code layout}'s places without one; other
 * columns ignored). Arrival times are made relative to the first row; a prompt must have at least one token; an
 * output of 0 tokens (a request that failed in the original service) is replayed as one token. Fields are not
 * quoted in any of these traces, and quotes are not understood.
 */
abstract class CsvTraceReader extends LineTraceReader {

    private final List<String> layout;
    private final String timeName;
    private final String inputName;
    private final String outputName;
    private long first = Long.MIN_VALUE;
    private int columns;
    private int timeColumn;
    private int inputColumn;
    private int outputColumn;

    /**
     * @param layout the columns in order, as the trace's header names them (the layout of a file without header)
     * @param time   the arrival time's column, which also starts the header
     * @param input  the prompt tokens' column
     * @param output the output tokens' column
     */
    CsvTraceReader(Path file, boolean skipBad, List<String> layout, String time, String input, String output) {
        super(file, skipBad);
        this.layout = layout;
        this.timeName = time;
        this.inputName = input;
        this.outputName = output;
        place(layout.toArray(new String[0]));
    }

    /** A time cell as nanoseconds since some origin; throws {@link IllegalArgumentException} naming the cell. */
    abstract long nanos(String cell);

    @Override
    final boolean header(String line) {
        if (!line.startsWith(timeName)) {
            return false;
        }
        place(line.split(",", -1));
        return true;
    }

    private void place(String[] header) {
        columns = header.length;
        timeColumn = column(header, timeName);
        inputColumn = column(header, inputName);
        outputColumn = column(header, outputName);
    }

    @Override
    final TraceRequest parse(String line) {
        String[] cells = line.split(",", -1);
        if (cells.length != columns) {
            throw new IllegalArgumentException("expected " + columns + " columns"
                    + (columns == layout.size() ? " " + String.join(",", layout) : " as in the header"));
        }
        long nanos = nanos(cells[timeColumn]);
        int input = count(cells[inputColumn], inputName);
        if (input < 1) {
            throw new IllegalArgumentException(inputName + " must be >= 1: " + input);
        }
        int output = Math.max(1, count(cells[outputColumn], outputName));
        if (first == Long.MIN_VALUE) {
            first = nanos;
        }
        return TraceRequest.of(nanos - first, input, output);
    }

    /** The index of a named column in a CSV header; a missing one is a bad header. */
    private static int column(String[] header, String name) {
        for (int i = 0; i < header.length; i++) {
            if (header[i].strip().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("header has no '" + name + "' column: " + String.join(",", header));
    }

    /** A whole number of tokens in a CSV cell, at least 0. */
    private static int count(String text, String column) {
        int v;
        try {
            v = Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(column + " '" + text + "' is not a whole number");
        }
        if (v < 0) {
            throw new IllegalArgumentException(column + " must be >= 0: " + v);
        }
        return v;
    }
}
