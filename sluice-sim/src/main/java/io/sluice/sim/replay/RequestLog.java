package io.sluice.sim.replay;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code requests-<policy>.csv}: one row per request of one policy's replay, written when the request ends
 * (completes, fails, or is refused without being sent), so rows come in the order requests end. Times are virtual
 * milliseconds with three decimals (microsecond resolution); a value that does not exist for a request (no
 * endpoint, never scheduled, no first token) is an empty cell.
 *
 * <p>Owned by the thread that replays the policy; nothing is shared, and the same replay writes the same bytes.
 */
final class RequestLog implements Closeable {

    /** The header line, column names in order. */
    static final String HEADER = "id,arrival_ms,policy,endpoint,prompt_tokens,cached_tokens,best_cached_tokens,"
            + "output_tokens,router_wait_ms,engine_wait_ms,ttft_ms,e2e_ms,outcome,floor_ttft_ms";

    /** A value that does not exist for a request: an empty cell. */
    static final long NONE = -1;

    private final BufferedWriter out;
    private final String policy;
    private final StringBuilder line = new StringBuilder(160);

    private RequestLog(BufferedWriter out, String policy) {
        this.out = out;
        this.policy = policy;
    }

    /** The file a policy's rows go to in a directory. */
    static Path file(Path dir, String policy) {
        return dir.resolve("requests-" + policy + ".csv");
    }

    /** Creates (or replaces) {@code requests-<policy>.csv} in a directory (created if need be); writes the header. */
    static RequestLog open(Path dir, String policy) {
        try {
            Files.createDirectories(dir);
            BufferedWriter w = Files.newBufferedWriter(file(dir, policy), StandardCharsets.UTF_8);
            RequestLog log = new RequestLog(w, policy);
            w.write(HEADER);
            w.write('\n');
            return log;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file(dir, policy) + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes one request's row. Times are absolute virtual nanoseconds, or {@link #NONE}; token counts are
     * {@link #NONE} for an empty cell.
     *
     * @param endpoint   the member index it was sent to, or {@link #NONE}
     * @param dispatched when it left the router for an endpoint
     * @param scheduled  when it first joined its engine's running batch
     * @param firstToken when its first token came
     * @param end        when it completed, failed or was refused
     * @param floorTtft  its time to first token alone with its best cached prefix, in nanoseconds, or {@link #NONE}
     */
    void row(long id, long arrival, long endpoint, long promptTokens, long cachedTokens, long bestCachedTokens,
             long outputTokens, long dispatched, long scheduled, long firstToken, long end, String outcome,
             long floorTtft) {
        StringBuilder b = line;
        b.setLength(0);
        b.append(id).append(',');
        millis(b, arrival);
        b.append(',').append(policy).append(',');
        count(b, endpoint);
        b.append(',').append(promptTokens).append(',');
        count(b, cachedTokens);
        b.append(',');
        count(b, bestCachedTokens);
        b.append(',').append(outputTokens).append(',');
        span(b, arrival, dispatched);
        b.append(',');
        span(b, dispatched, scheduled);
        b.append(',');
        span(b, arrival, firstToken);
        b.append(',');
        span(b, arrival, end);
        b.append(',').append(outcome).append(',');
        if (floorTtft != NONE) {
            millis(b, floorTtft);
        }
        b.append('\n');
        try {
            out.append(b);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the request log of " + policy + ": " + e.getMessage(), e);
        }
    }

    private static void count(StringBuilder b, long v) {
        if (v != NONE) {
            b.append(v);
        }
    }

    private static void span(StringBuilder b, long from, long to) {
        if (from != NONE && to != NONE) {
            millis(b, Math.max(0, to - from));
        }
    }

    /** Nanoseconds as milliseconds with three decimals, truncated to the microsecond. */
    static void millis(StringBuilder b, long nanos) {
        long micros = nanos / 1000;
        long frac = micros % 1000;
        b.append(micros / 1000).append('.');
        if (frac < 100) {
            b.append('0');
        }
        if (frac < 10) {
            b.append('0');
        }
        b.append(frac);
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
