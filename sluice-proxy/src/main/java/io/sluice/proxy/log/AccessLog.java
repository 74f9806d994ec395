package io.sluice.proxy.log;

import io.netty.util.internal.PlatformDependent;
import io.sluice.config.AccessLogConfig;
import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.time.Instant;
import java.util.Queue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * The access log: one JSON object per line, written by a thread of its own so an event loop never waits on a disk
 * or a pipe.
 *
 * <p>Event loops put records on a bounded lock-free queue; the writer drains it in batches and flushes when it runs
 * dry. If the writer falls behind by more than the queue holds, records are dropped and counted rather than letting
 * memory grow or the proxy slow down ({@code sluice_access_log_dropped_total}).
 */
public final class AccessLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(AccessLog.class);
    private static final int CAPACITY = 65_536;
    private static final JsonFactory JSON = JsonFactory.builder().rootValueSeparator("").build();

    private final Queue<AccessRecord> queue;
    private final OutputStream out;
    private final boolean closeOut;
    private final Runnable onDrop;
    private final Thread writer;
    private final AtomicBoolean running = new AtomicBoolean(true);

    private AccessLog(OutputStream out, boolean closeOut, Runnable onDrop) {
        this.queue = PlatformDependent.newFixedMpscQueue(CAPACITY);
        this.out = out;
        this.closeOut = closeOut;
        this.onDrop = onDrop;
        this.writer = new Thread(this::drainLoop, "sluice-access-log");
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /**
     * Opens the access log the config asks for, or returns empty for {@code off}.
     *
     * @param onDrop called for each dropped record
     */
    public static java.util.Optional<AccessLog> open(AccessLogConfig config, Runnable onDrop) throws IOException {
        return switch (config.target()) {
            case OFF -> java.util.Optional.empty();
            case STDOUT -> java.util.Optional.of(new AccessLog(new PrintStream(new FileOutputStream(
                    java.io.FileDescriptor.out), false), false, onDrop));
            case STDERR -> java.util.Optional.of(new AccessLog(new PrintStream(new FileOutputStream(
                    java.io.FileDescriptor.err), false), false, onDrop));
            case FILE -> {
                java.nio.file.Path file = config.file().orElseThrow();
                if (file.getParent() != null) {
                    Files.createDirectories(file.getParent());
                }
                yield java.util.Optional.of(new AccessLog(new FileOutputStream(file.toFile(), true), true, onDrop));
            }
        };
    }

    /** An access log writing to a stream (tests). */
    public static AccessLog to(OutputStream out) {
        return new AccessLog(out, false, () -> { });
    }

    /** Queues a record; never blocks. */
    public void log(AccessRecord record) {
        if (!queue.offer(record)) {
            onDrop.run();
            return;
        }
        // The writer parks when idle; waking it on every record would cost a syscall per request, so it polls.
    }

    private void drainLoop() {
        BufferedOutputStream buffered = new BufferedOutputStream(out, 64 * 1024);
        try (JsonGenerator json = JSON.createGenerator(ObjectWriteContext.empty(), buffered)) {
            while (running.get() || !queue.isEmpty()) {
                AccessRecord r = queue.poll();
                if (r == null) {
                    json.flush();
                    buffered.flush();
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
                    continue;
                }
                write(json, r);
                json.writeRaw('\n');
            }
            json.flush();
            buffered.flush();
        } catch (IOException | RuntimeException e) {
            LOG.error("access log writer stopped", e);
        }
    }

    private static void write(JsonGenerator j, AccessRecord r) {
        j.writeStartObject();
        j.writeStringProperty("time", Instant.ofEpochMilli(r.timeMillis()).toString());
        j.writeStringProperty("listener", r.listener());
        j.writeStringProperty("client", r.client());
        j.writeStringProperty("method", r.method());
        j.writeStringProperty("target", r.target());
        j.writeStringProperty("host", r.host());
        j.writeNumberProperty("status", r.status());
        j.writeNumberProperty("bytes_in", r.bytesIn());
        j.writeNumberProperty("bytes_out", r.bytesOut());
        j.writeNumberProperty("duration_ms", r.durationNanos() / 1e6);
        if (r.upstreamNanos() >= 0) {
            j.writeNumberProperty("upstream_ms", r.upstreamNanos() / 1e6);
        }
        j.writeStringProperty("pool", r.pool());
        j.writeStringProperty("endpoint", r.endpoint());
        j.writeNumberProperty("attempts", r.attempts());
        j.writeStringProperty("request_id", r.requestId());
        if (!r.error().isEmpty()) {
            j.writeStringProperty("error", r.error());
        }
        if (!r.userAgent().isEmpty()) {
            j.writeStringProperty("user_agent", r.userAgent());
        }
        j.writeEndObject();
    }

    /** Writes what is queued and stops. */
    @Override
    public void close() {
        running.set(false);
        LockSupport.unpark(writer);
        try {
            writer.join(5000);
            if (closeOut) {
                out.close();
            } else {
                out.flush();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            LOG.warn("closing the access log failed", e);
        }
    }
}
