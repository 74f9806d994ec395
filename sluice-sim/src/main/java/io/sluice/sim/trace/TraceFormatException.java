package io.sluice.sim.trace;

/** A trace line that cannot be read, with where it is. */
public final class TraceFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String file;
    private final long line;

    /** Creates the exception for a line of a file. */
    public TraceFormatException(String file, long line, String message) {
        super(file + ":" + line + ": " + message);
        this.file = file;
        this.line = line;
    }

    /** The file. */
    public String file() {
        return file;
    }

    /** The 1-based line number. */
    public long line() {
        return line;
    }
}
