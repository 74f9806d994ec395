package io.sluice.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NoSuchElementException;

/**
 * The common part of the line-oriented trace readers: reading ahead one request, counting lines, checking that
 * arrivals never go back in time, and either failing on a bad line (naming file and line) or skipping it.
 */
abstract class LineTraceReader implements RequestStream {

    private final BufferedReader in;
    private final String name;
    private final boolean skipBad;
    private long lineNumber;
    private long skipped;
    private long lastArrival = Long.MIN_VALUE;
    private TraceRequest ahead;
    private boolean done;

    LineTraceReader(Path file, boolean skipBad) {
        try {
            this.in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read trace " + file + ": " + e.getMessage(), e);
        }
        this.name = file.getFileName().toString();
        this.skipBad = skipBad;
    }

    /** Parses one non-blank line; throws {@link IllegalArgumentException} with a message if it is malformed. */
    abstract TraceRequest parse(String line);

    /** Called for the first line; returns true if it is a header to skip. */
    boolean header(String line) {
        return false;
    }

    @Override
    public boolean hasNext() {
        if (ahead == null && !done) {
            ahead = read();
            done = ahead == null;
        }
        return ahead != null;
    }

    @Override
    public TraceRequest next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        TraceRequest r = ahead;
        ahead = null;
        return r;
    }

    private TraceRequest read() {
        while (true) {
            String line;
            try {
                line = in.readLine();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read trace " + name + ": " + e.getMessage(), e);
            }
            if (line == null) {
                return null;
            }
            lineNumber++;
            if (line.isBlank() || (lineNumber == 1 && header(line))) {
                continue;
            }
            try {
                TraceRequest r = parse(line);
                if (r.arrivalNanos() < lastArrival) {
                    throw new IllegalArgumentException("timestamp goes back in time (trace lines must be in "
                            + "arrival order)");
                }
                lastArrival = r.arrivalNanos();
                return r;
            } catch (RuntimeException e) {
                if (!skipBad) {
                    throw new TraceFormatException(name, lineNumber, message(e));
                }
                skipped++;
            }
        }
    }

    private static String message(RuntimeException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m.lines().findFirst().orElse(m);
    }

    @Override
    public long skipped() {
        return skipped;
    }

    @Override
    public String describe() {
        return name;
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
