package io.sluice.proxy.tls;

import io.sluice.proxy.metrics.ProxyMetrics;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Polls the certificate files of every TLS listener on a thread of its own (file system calls never run on an
 * event loop) and reloads those that changed. One second between polls, plus one quiet poll before a reload,
 * puts a replaced certificate in service within about two seconds.
 */
public final class CertificateWatcher implements AutoCloseable {

    private final List<ServerCertificates> watched = new CopyOnWriteArrayList<>();
    private final ScheduledExecutorService thread;
    private final ProxyMetrics metrics;

    /** Starts polling every {@code intervalMillis}. */
    public CertificateWatcher(ProxyMetrics metrics, long intervalMillis) {
        this.metrics = metrics;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "sluice-certificates");
            t.setDaemon(true);
            return t;
        });
        thread.scheduleWithFixedDelay(this::poll, intervalMillis, intervalMillis, TimeUnit.MILLISECONDS);
    }

    /** Starts watching a listener's certificates. */
    public void watch(ServerCertificates certificates) {
        watched.add(certificates);
    }

    /** Stops watching them (the listener closed). */
    public void forget(ServerCertificates certificates) {
        watched.remove(certificates);
    }

    /** Reloads every watched listener's certificates now (a configuration reload). */
    public void reloadAll() {
        for (ServerCertificates c : watched) {
            metrics.certificateReload(c.listener(), c.reload());
        }
    }

    private void poll() {
        for (ServerCertificates c : watched) {
            Optional<Boolean> result = c.reloadIfChanged();
            result.ifPresent(ok -> metrics.certificateReload(c.listener(), ok));
        }
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
