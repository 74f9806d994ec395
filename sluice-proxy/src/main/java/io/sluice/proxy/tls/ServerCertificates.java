package io.sluice.proxy.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.util.DomainWildcardMappingBuilder;
import io.netty.util.Mapping;
import io.sluice.config.ListenerTlsConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The certificates of a TLS listener, chosen by SNI, and reloaded when their files change.
 *
 * <p>Every handshake asks {@link #map} for the context of the name the client sent (Netty's {@code SniHandler});
 * the answer comes from an immutable snapshot swapped in one volatile write, so a reload never touches a connection
 * already established and the next handshake after it gets the new certificate. Changes are noticed by polling
 * the files' modification times and sizes ({@link #reloadIfChanged}, called every second off the event loops),
 * and a snapshot is built only once the files have stopped changing for one poll, so a certificate and its key
 * written one after the other are never paired half-way. A set of files that does not load leaves the running
 * certificates in place.
 */
public final class ServerCertificates implements Mapping<String, SslContext> {

    private static final Logger LOG = LoggerFactory.getLogger(ServerCertificates.class);

    private record Snapshot(SslContext fallback, Mapping<String, SslContext> byName, List<String> stamps) {
    }

    private final String listener;
    private final ListenerTlsConfig config;
    private final boolean alpn;
    private volatile Snapshot current;
    private List<String> seenStamps;
    private List<String> failedStamps = List.of();

    private ServerCertificates(String listener, ListenerTlsConfig config, boolean alpn, Snapshot first) {
        this.listener = listener;
        this.config = config;
        this.alpn = alpn;
        this.current = first;
        this.seenStamps = first.stamps();
    }

    /**
     * Loads a listener's certificates.
     *
     * @param alpn offer ALPN (HTTP listeners); TCP listeners that terminate TLS do not
     * @throws SSLException if a certificate or key cannot be loaded
     */
    public static ServerCertificates load(String listener, ListenerTlsConfig config, boolean alpn)
            throws SSLException {
        return new ServerCertificates(listener, config, alpn, build(config, alpn));
    }

    private static Snapshot build(ListenerTlsConfig config, boolean alpn) throws SSLException {
        List<String> stamps = stamps(config);
        SslContext fallback = TlsContexts.server(config, config.certificate(), config.privateKey(), alpn);
        DomainWildcardMappingBuilder<SslContext> names = new DomainWildcardMappingBuilder<>(fallback);
        for (ListenerTlsConfig.SniCertificate sni : config.sni()) {
            names.add(sni.serverName(), TlsContexts.server(config, sni.certificate(), sni.privateKey(), alpn));
        }
        return new Snapshot(fallback, names.build(), stamps);
    }

    /** The context for a server name; the default certificate's for an unknown name or none. */
    @Override
    public SslContext map(String serverName) {
        Snapshot s = current;
        return serverName == null ? s.fallback() : s.byName().map(serverName);
    }

    /** The listener's name. */
    public String listener() {
        return listener;
    }

    /**
     * Reloads if the files changed and have been stable since the previous call.
     *
     * @return empty if nothing was done, else whether the reload succeeded
     */
    public synchronized java.util.Optional<Boolean> reloadIfChanged() {
        List<String> now = stamps(config);
        if (now.equals(current.stamps()) || now.equals(failedStamps)) {
            seenStamps = now;
            return java.util.Optional.empty();
        }
        if (!now.equals(seenStamps)) {
            // Still being written: wait for one quiet poll.
            seenStamps = now;
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(reload());
    }

    /** Rebuilds the contexts from the files now; the running ones stay if that fails. */
    public synchronized boolean reload() {
        try {
            current = build(config, alpn);
            seenStamps = current.stamps();
            failedStamps = List.of();
            LOG.info("listener {}: certificates reloaded", listener);
            return true;
        } catch (SSLException | RuntimeException e) {
            failedStamps = stamps(config);
            LOG.error("listener {}: certificates not reloaded, the running ones stay: {}", listener, e.getMessage());
            return false;
        }
    }

    private static List<String> stamps(ListenerTlsConfig config) {
        List<Path> files = new ArrayList<>(List.of(config.certificate(), config.privateKey()));
        for (ListenerTlsConfig.SniCertificate sni : config.sni()) {
            files.add(sni.certificate());
            files.add(sni.privateKey());
        }
        config.clientCa().ifPresent(files::add);
        List<String> stamps = new ArrayList<>(files.size());
        for (Path f : files) {
            try {
                BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
                stamps.add(a.lastModifiedTime().toMillis() + "/" + a.size() + "/" + Objects.toString(a.fileKey()));
            } catch (IOException e) {
                stamps.add("missing");
            }
        }
        return stamps;
    }
}
