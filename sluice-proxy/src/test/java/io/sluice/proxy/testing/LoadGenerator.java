package io.sluice.proxy.testing;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAccumulator;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Steady HTTP/1.1 load for chaos tests: a few worker threads, each on one persistent keep-alive connection, sending
 * GETs one after another with a short pause, and counting everything a user would notice: failed requests (any
 * status but 200, or an I/O error), connections the server closed or reset, and the slowest request.
 *
 * <p>Each request carries {@code x-sent-at} (this JVM's {@link System#nanoTime()} when it was sent) so a backend can
 * tell whether a request was sent after some moment of the test. Bounded: it stops at {@link #stop()} or after
 * {@code maxRequests}, whichever comes first.
 */
public final class LoadGenerator implements AutoCloseable {

    /** What the load saw. */
    public record Result(long sent, long failed, long connectionsLost, long maxLatencyNanos,
                         Map<String, Long> bodies, List<String> failures) {

        /** Share of requests answered 200, in percent. */
        public double successPercent() {
            return sent == 0 ? 100.0 : 100.0 * (sent - failed) / sent;
        }

        /** The slowest request, in milliseconds. */
        public double maxLatencyMillis() {
            return maxLatencyNanos / 1e6;
        }
    }

    private final int port;
    private final String path;
    private final long pauseNanos;
    private final long maxRequests;
    private final List<Thread> workers = new ArrayList<>();
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final AtomicLong sent = new AtomicLong();
    private final LongAdder failed = new LongAdder();
    private final LongAdder lost = new LongAdder();
    private final LongAccumulator maxLatency = new LongAccumulator(Math::max, 0);
    private final Map<String, Long> bodies = new ConcurrentHashMap<>();
    private final List<String> failures = new CopyOnWriteArrayList<>();

    private LoadGenerator(int port, String path, int threads, Duration pause, long maxRequests) {
        this.port = port;
        this.path = path;
        this.pauseNanos = pause.toNanos();
        this.maxRequests = maxRequests;
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::work, "load-" + i);
            t.setDaemon(true);
            workers.add(t);
        }
    }

    /**
     * Starts the load.
     *
     * @param port        the listener's port
     * @param path        the request path
     * @param threads     connections, each with one request at a time
     * @param pause       pause between a response and the next request of a connection
     * @param maxRequests stop after this many requests in all
     */
    public static LoadGenerator start(int port, String path, int threads, Duration pause, long maxRequests) {
        LoadGenerator load = new LoadGenerator(port, path, threads, pause, maxRequests);
        load.workers.forEach(Thread::start);
        return load;
    }

    /** Requests sent so far. */
    public long sent() {
        return sent.get();
    }

    /** Responses with this body so far. */
    public long count(String body) {
        return bodies.getOrDefault(body, 0L);
    }

    /** Requests failed so far. */
    public long failed() {
        return failed.sum();
    }

    /** Stops the load, waits for the requests in flight, and returns what it saw. */
    public Result stop() {
        stopped.set(true);
        for (Thread t : workers) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return new Result(sent.get(), failed.sum(), lost.sum(), maxLatency.get(), Map.copyOf(bodies),
                List.copyOf(failures));
    }

    @Override
    public void close() {
        stop();
    }

    private void work() {
        Socket socket = null;
        InputStream in = null;
        while (!stopped.get() && sent.get() < maxRequests) {
            try {
                if (socket == null) {
                    socket = new Socket();
                    socket.setTcpNoDelay(true);
                    socket.setSoTimeout(30_000);
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
                    in = new BufferedInputStream(socket.getInputStream(), 4096);
                }
                if (sent.incrementAndGet() > maxRequests) {
                    sent.decrementAndGet();
                    break;
                }
                long start = System.nanoTime();
                String req = "GET " + path + " HTTP/1.1\r\nHost: load\r\nx-sent-at: " + start + "\r\n\r\n";
                OutputStream out = socket.getOutputStream();
                out.write(req.getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                Response r = Response.read(in);
                maxLatency.accumulate(System.nanoTime() - start);
                if (r.status != 200) {
                    failed.increment();
                    note("status " + r.status + ": " + r.body.strip());
                } else {
                    bodies.merge(r.body, 1L, Long::sum);
                }
                if (r.close) {
                    lost.increment();
                    note("the server closed the connection after a response");
                    socket.close();
                    socket = null;
                }
            } catch (IOException e) {
                failed.increment();
                lost.increment();
                note("I/O error: " + e);
                closeQuietly(socket);
                socket = null;
            }
            if (pauseNanos > 0) {
                LockSupport.parkNanos(pauseNanos);
            }
        }
        closeQuietly(socket);
    }

    private void note(String failure) {
        if (failures.size() < 20) {
            failures.add(failure);
        }
    }

    private static void closeQuietly(Socket s) {
        if (s != null) {
            try {
                s.close();
            } catch (IOException e) {
                // Closing a broken socket may fail; nothing to do.
            }
        }
    }

    /** A response read from a keep-alive connection (Content-Length or chunked bodies). */
    private record Response(int status, String body, boolean close) {

        static Response read(InputStream in) throws IOException {
            String statusLine = line(in);
            if (statusLine.isEmpty()) {
                throw new IOException("connection closed before a response");
            }
            int status = Integer.parseInt(statusLine.substring(9, 12));
            long length = -1;
            boolean chunked = false;
            boolean close = false;
            String h;
            while (!(h = line(in)).isEmpty()) {
                String lower = h.toLowerCase(Locale.ROOT);
                if (lower.startsWith("content-length:")) {
                    length = Long.parseLong(lower.substring(15).strip());
                } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
                    chunked = true;
                } else if (lower.startsWith("connection:") && lower.contains("close")) {
                    close = true;
                }
            }
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            if (chunked) {
                while (true) {
                    int size = Integer.parseInt(line(in).split(";")[0].strip(), 16);
                    if (size == 0) {
                        while (!line(in).isEmpty()) {
                            // trailers
                        }
                        break;
                    }
                    body.write(in.readNBytes(size));
                    line(in);
                }
            } else if (length > 0) {
                byte[] b = in.readNBytes((int) length);
                if (b.length < length) {
                    throw new IOException("connection closed in the middle of a body");
                }
                body.write(b);
            }
            return new Response(status, body.toString(StandardCharsets.UTF_8), close);
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder sb = new StringBuilder();
            int c;
            while ((c = in.read()) >= 0 && c != '\n') {
                if (c != '\r') {
                    sb.append((char) c);
                }
            }
            if (c < 0 && sb.length() == 0) {
                return "";
            }
            return sb.toString();
        }
    }
}
