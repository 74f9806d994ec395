package io.sluice.sim.trace;

import java.io.Closeable;
import java.util.Iterator;

/**
 * A workload read one request at a time, in arrival order, so that memory stays flat however long it is.
 *
 * <p>{@link #next()} may throw {@link TraceFormatException} for a bad line (unless bad lines are skipped) and
 * {@link java.io.UncheckedIOException} if the file cannot be read.
 */
public interface RequestStream extends Iterator<TraceRequest>, Closeable {

    /** Lines skipped as malformed so far. */
    long skipped();

    /** A short description for reports (the file name, or the generator's settings). */
    String describe();

    @Override
    void close();
}
