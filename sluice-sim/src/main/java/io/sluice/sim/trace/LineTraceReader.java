package io.sluice.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.NoSuchElementException;
import java.util.zip.GZIPInputStream;

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
    private boolean seenContent;
    private boolean done;

    LineTraceReader(Path file, boolean skipBad) {
        try {
            this.in = reader(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read trace " + file + ": " + describe(e), e);
        }
        this.name = file.getFileName().toString();
        this.skipBad = skipBad;
    }

    /** A UTF-8 reader of a trace file, through gzip if its name ends with {@code .gz}. */
    static BufferedReader reader(Path file) throws IOException {
        if (!file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gz")) {
            return Files.newBufferedReader(file, StandardCharsets.UTF_8);
        }
        InputStream raw = Files.newInputStream(file);
        try {
            return new BufferedReader(new InputStreamReader(new GZIPInputStream(raw, 1 << 16),
                    StandardCharsets.UTF_8), 1 << 16);
        } catch (IOException e) {
            raw.close();
            throw e;
        }
    }

    /** The most a timestamp may be, in nanoseconds: about 146 years, so that every arrival difference fits. */
    static final double MAX_NANOS = 0x1p62;

    /**
     * A timestamp in some unit as nanoseconds; one so large that it could only be another unit (epoch
     * milliseconds in a seconds column) is a bad line, not an overflow.
     */
    static long nanos(double value, double nanosPerUnit, String column) {
        double nanos = value * nanosPerUnit;
        if (!(nanos < MAX_NANOS)) {
            throw new IllegalArgumentException(column + " " + value + " is too large for its unit ("
                    + (nanosPerUnit == 1e9 ? "seconds" : nanosPerUnit == 1e6 ? "milliseconds" : "?") + ")");
        }
        return Math.round(nanos);
    }

    /** Parses one non-blank line; throws {@link IllegalArgumentException} with a message if it is malformed. */
    abstract TraceRequest parse(String line);

    /** Called for the first non-blank line (a byte-order mark removed); returns true if it is a header to skip. */
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
                throw new UncheckedIOException("cannot read trace " + name + " after line " + lineNumber + ": "
                        + describe(e), e);
            }
            if (line == null) {
                return null;
            }
            lineNumber++;
            if (line.isBlank()) {
                continue;
            }
            if (!seenContent) {
                seenContent = true;
                line = withoutBom(line);
                if (isHeader(line)) {
                    continue;
                }
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

    /** A line without the UTF-8 byte-order mark some tools write at the start of a file. */
    static String withoutBom(String line) {
        return !line.isEmpty() && line.charAt(0) == '\uFEFF' ? line.substring(1) : line;
    }

    private boolean isHeader(String line) {
        try {
            return header(line);
        } catch (IllegalArgumentException e) {
            throw new TraceFormatException(name, lineNumber, message(e));   // a bad header is fatal, skip-bad or not
        }
    }

    /** An I/O failure's message, or its kind when it has none (an empty gzip file says nothing). */
    static String describe(IOException e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName()
                + (e instanceof java.io.EOFException ? " (truncated or empty compressed file?)" : "") : m;
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
