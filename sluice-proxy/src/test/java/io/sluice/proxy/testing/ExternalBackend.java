package io.sluice.proxy.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link BackendProcess} started in a child JVM with the test classpath, which the test can kill with SIGKILL
 * ({@link Process#destroyForcibly()} is {@code kill -9} on Unix) and start again on the same port.
 */
public final class ExternalBackend implements AutoCloseable {

    private final String name;
    private final Process process;
    private final int port;

    private ExternalBackend(String name, Process process, int port) {
        this.name = name;
        this.process = process;
        this.port = port;
    }

    /**
     * Starts a backend process and waits (at most 30 s) until it listens.
     *
     * @param port the port, or 0 for any
     */
    public static ExternalBackend start(String name, int port) {
        String classpath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(List.of(java, "-Xmx64m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-Dio.netty.leakDetection.level=disabled", "-cp", classpath,
                BackendProcess.class.getName(), name, Integer.toString(port)))
                .redirectErrorStream(true);
        try {
            Process p = pb.start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8));
            CompletableFuture<Integer> bound = CompletableFuture.supplyAsync(() -> {
                try {
                    String line;
                    while ((line = out.readLine()) != null) {
                        if (line.startsWith("LISTENING ")) {
                            return Integer.parseInt(line.substring(10).strip());
                        }
                    }
                    throw new IllegalStateException("backend process " + name + " exited before listening");
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            int actual = bound.get(30, TimeUnit.SECONDS);
            // Keep draining its output so the child never blocks on a full pipe.
            Thread drain = new Thread(() -> {
                try {
                    while (out.readLine() != null) {
                        // discard
                    }
                } catch (IOException e) {
                    // the process is gone
                }
            }, "drain-" + name);
            drain.setDaemon(true);
            drain.start();
            return new ExternalBackend(name, p, actual);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("backend process " + name + " did not start", e);
        }
    }

    /** The backend's name (its response body). */
    public String name() {
        return name;
    }

    /** The port it listens on. */
    public int port() {
        return port;
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + port;
    }

    /** Kills the process with SIGKILL and waits until it is gone. */
    public void kill() {
        process.destroyForcibly();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("backend process " + name + " survived SIGKILL");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
