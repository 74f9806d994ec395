package io.sluice.proxy.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.config.ConfigException;
import io.sluice.config.ListenerConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Member;
import io.sluice.endpoint.EndpointSet;
import io.sluice.proxy.admin.AdminServer;
import io.sluice.config.ListenerTlsConfig;
import io.sluice.inference.FlowController;
import io.sluice.proxy.health.HealthMonitor;
import io.sluice.proxy.inference.EngineScraper;
import io.sluice.proxy.http.ListenerContext;
import io.sluice.proxy.log.AccessLog;
import io.sluice.proxy.http2.Http2Frontend;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.net.Drainable;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.proxy.tls.CertificateWatcher;
import io.sluice.proxy.tls.ServerCertificates;
import io.sluice.proxy.upstream.UpstreamConnector;
import io.sluice.proxy.upstream.UpstreamPools;
import io.sluice.time.Clock;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Sluice: listeners bound on the event loops, the admin API, metrics, the access log, the current
 * {@link ProxyRuntime}, and the {@link HealthMonitor} that keeps its pools' health verdicts current.
 *
 * <p>Reloads build a new runtime beside the old one and swap it in with one volatile write; listeners whose address
 * and protocol did not change keep their sockets and connections. Shutdown stops accepting, lets in-flight
 * requests finish (up to the drain timeout), closes idle keep-alive connections, and then stops the event loops.
 */
public final class SluiceServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(SluiceServer.class);
    private static final long SWEEP_INTERVAL_MILLIS = 1000;
    private static final long CERTIFICATE_POLL_MILLIS = 1000;

    private record Bound(ListenerContext context, Channel channel, Optional<ServerCertificates> certificates) {
    }

    private final Clock clock;
    private final Transport transport;
    private final EventLoopGroup group;
    private final ProxyMetrics metrics = new ProxyMetrics();
    private final Optional<AccessLog> accessLog;
    private final UpstreamConnector connector;
    private final CertificateWatcher certificateWatcher;
    private final HealthMonitor health;
    private final EngineScraper scraper;
    private final Map<String, Bound> listeners = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Object reloadLock = new Object();
    private volatile ProxyRuntime runtime;
    private volatile boolean ready;
    private AdminServer admin;

    private SluiceServer(SluiceConfig config, ProxyRuntime runtime, Clock clock, Transport transport)
            throws IOException {
        this.clock = clock;
        this.transport = transport;
        this.runtime = runtime;
        this.group = transport.newGroup(config.ioThreads(), "sluice-io");
        this.connector = new UpstreamConnector(transport);
        this.certificateWatcher = new CertificateWatcher(metrics, CERTIFICATE_POLL_MILLIS);
        this.accessLog = AccessLog.open(config.accessLog(), metrics::accessLogDropped);
        this.health = HealthMonitor.start(transport.newGroup(1, "sluice-health"), transport.socketChannel(), clock);
        this.scraper = EngineScraper.start(clock, metrics);
        registerGauges();
    }

    /**
     * Starts Sluice with a config: builds the runtime, binds every listener and the admin API.
     *
     * @throws ConfigException if the runtime cannot be built (an endpoint does not resolve)
     * @throws IOException     if a listener cannot bind
     */
    public static SluiceServer start(SluiceConfig config, Clock clock) throws ConfigException, IOException {
        ProxyRuntime runtime = ProxyRuntime.build(config, Optional.empty(), clock);
        Transport transport = Transport.select();
        SluiceServer server = new SluiceServer(config, runtime, clock, transport);
        runtime.activate(Optional.empty());
        server.health.apply(runtime);
        server.scraper.apply(runtime);
        try {
            for (ListenerConfig l : config.listeners()) {
                server.bind(l);
            }
            if (config.admin().enabled()) {
                server.admin = AdminServer.start(config.admin(), server);
            }
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        server.scheduleSweeps();
        server.ready = true;
        LOG.info("sluice started: {} listener(s), transport {}, {} event loop(s)", config.listeners().size(),
                transport, config.ioThreads() > 0 ? config.ioThreads() : Runtime.getRuntime().availableProcessors());
        return server;
    }

    private void bind(ListenerConfig l) throws IOException {
        Optional<ServerCertificates> certificates = Optional.empty();
        if (l.tls().isPresent()) {
            ListenerTlsConfig tls = l.tls().get();
            if (!l.http2().enabled()) {
                tls = new ListenerTlsConfig(tls.certificate(), tls.privateKey(), tls.sni(), tls.clientCa(),
                        tls.clientAuth(), tls.alpn().stream().filter(p -> !p.equals("h2")).toList(),
                        tls.minVersion(), tls.ciphers());
            }
            try {
                certificates = Optional.of(ServerCertificates.load(l.name(), tls,
                        l.protocol() == ListenerConfig.Protocol.HTTP));
            } catch (SSLException e) {
                throw new IOException("listener " + l.name() + ": " + e.getMessage(), e);
            }
        }
        ListenerContext ctx = new ListenerContext(l, l.tls().isPresent(), () -> runtime, metrics, accessLog, clock,
                connector);
        if (l.protocol() == ListenerConfig.Protocol.HTTP && l.tls().isEmpty() && l.http2().enabled()) {
            Http2Frontend.offerUpgrade(ctx);
        }
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(32 * 1024, 128 * 1024))
                .childHandler(new ListenerInitializer(ctx, certificates));
        InetSocketAddress at = new InetSocketAddress(l.address().host(), l.address().port());
        Channel channel;
        io.netty.channel.ChannelFuture bound = b.bind(at).awaitUninterruptibly();
        if (!bound.isSuccess()) {
            Throwable cause = bound.cause();
            String why = cause.getMessage() != null && cause.getMessage().contains("Address already in use")
                    ? "address already in use" : String.valueOf(cause.getMessage());
            throw new IOException("listener " + l.name() + ": cannot bind " + l.address() + ": " + why, cause);
        }
        channel = bound.channel();
        ctx.serverChannel(channel);
        listeners.put(l.name(), new Bound(ctx, channel, certificates));
        certificates.ifPresent(certificateWatcher::watch);
        LOG.info("listener {} on {}", l.name(), channel.localAddress());
    }

    private void scheduleSweeps() {
        for (EventExecutor loop : group) {
            loop.scheduleAtFixedRate(this::sweepUpstreams, SWEEP_INTERVAL_MILLIS, SWEEP_INTERVAL_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Closes, on every event loop, the idle upstream connections to endpoints that are draining or gone, at once
     * rather than at the next periodic sweep.
     */
    public void sweepIdleConnections() {
        for (EventExecutor loop : group) {
            loop.execute(this::sweepUpstreams);
        }
    }

    private void sweepUpstreams() {
        ProxyRuntime r = runtime;
        Set<Member> live = Collections.newSetFromMap(new IdentityHashMap<>());
        long maxIdle = 0;
        for (PoolRuntime p : r.pools()) {
            live.addAll(p.pool().members());
            maxIdle = Math.max(maxIdle, p.poolIdleNanos());
        }
        UpstreamPools.current().sweep(clock.nanoTime(), maxIdle, live::contains);
        UpstreamConnector.sweepHttp2(clock.nanoTime(), maxIdle, live::contains);
    }

    private void registerGauges() {
        metrics.registerGauges(
                cb -> forEachMember((p, m) -> cb.call(m.load().activeRequests(), p.name(), m.address().toString())),
                cb -> forEachMember((p, m) -> cb.call(m.load().activeConnections(), p.name(),
                        m.address().toString())),
                cb -> forEachMember((p, m) -> cb.call(m.usable(clock.nanoTime()) ? 1 : 0, p.name(),
                        m.address().toString())),
                cb -> {
                    synchronized (listeners) {
                        listeners.forEach((name, b) -> cb.call(b.context().connections().size(), name));
                    }
                });
        metrics.registerResilience(
                cb -> forEachMember((p, m) -> p.outlier().ifPresent(d -> cb.call(d.ejections(m), p.name(),
                        m.address().toString()))),
                cb -> runtime.pools().forEach(p -> p.outlier().ifPresent(d -> cb.call(d.overflows(), p.name()))),
                cb -> runtime.pools().forEach(p -> {
                    for (EndpointSet.Mode mode : EndpointSet.Mode.values()) {
                        cb.call(p.modes().entries(mode), p.name(), mode.name().toLowerCase(java.util.Locale.ROOT));
                    }
                }),
                cb -> health.forEachChecker((pool, c) -> {
                    String endpoint = c.member().address().toString();
                    long failures = c.failures();
                    long timeouts = c.timeouts();
                    cb.call(c.probes() - failures, pool, endpoint, "pass");
                    cb.call(failures - timeouts, pool, endpoint, "fail");
                    cb.call(timeouts, pool, endpoint, "timeout");
                }),
                cb -> runtime.pools().forEach(p -> cb.call(p.pending().size(), p.name())));
        metrics.registerInference(
                cb -> runtime.pools().forEach(p -> p.inference().ifPresent(i -> {
                    Map<Integer, Integer> sizes = i.queue().sizes();
                    if (sizes.isEmpty()) {
                        cb.call(0, p.name(), "0");   // an empty queue still reports, for autoscalers
                    }
                    sizes.forEach((priority, size) -> cb.call(size, p.name(), Integer.toString(priority)));
                })),
                cb -> runtime.pools().forEach(p -> p.inference().ifPresent(i -> {
                    for (FlowController.ShedReason r : FlowController.ShedReason.values()) {
                        cb.call(i.queue().shed(r), p.name(), r.label());
                    }
                })),
                cb -> runtime.pools().forEach(p -> p.inference().ifPresent(i -> cb.call(
                        i.fleet().predictedPrefixHitRatio(), p.name()))),
                cb -> forEachMember((p, m) -> p.inference().ifPresent(i -> cb.call(
                        i.fleet().fresh(m.address()) ? 1 : 0, p.name(), m.address().toString()))));
    }

    /** The health monitor: active checks, ejection sweeps. */
    public HealthMonitor health() {
        return health;
    }

    private void forEachMember(java.util.function.BiConsumer<PoolRuntime, Member> action) {
        for (PoolRuntime p : runtime.pools()) {
            for (Member m : p.pool().members()) {
                action.accept(p, m);
            }
        }
    }

    /** The current runtime. */
    public ProxyRuntime runtime() {
        return runtime;
    }

    /** The metrics. */
    public ProxyMetrics metrics() {
        return metrics;
    }

    /** The clock. */
    public Clock clock() {
        return clock;
    }

    /** The transport in use. */
    public Transport transport() {
        return transport;
    }

    /** True once every listener is bound. */
    public boolean ready() {
        return ready;
    }

    /** The port a listener is bound to (useful with port 0). */
    public int port(String listener) {
        Bound b = listeners.get(listener);
        if (b == null) {
            throw new IllegalArgumentException("no listener named " + listener);
        }
        return ((InetSocketAddress) b.channel().localAddress()).getPort();
    }

    /** The admin API's port. */
    public int adminPort() {
        if (admin == null) {
            throw new IllegalStateException("the admin API is disabled");
        }
        return admin.port();
    }

    /**
     * Replaces the configuration. A config that cannot be built is refused and the running one stays.
     *
     * @throws ConfigException with every error when the new config is refused
     */
    public void reload(SluiceConfig next) throws ConfigException {
        synchronized (reloadLock) {
            ProxyRuntime built;
            try {
                built = ProxyRuntime.build(next, Optional.of(runtime), clock);
            } catch (ConfigException e) {
                metrics.reload(false);
                throw e;
            }
            List<String> problems = new ArrayList<>();
            List<ListenerConfig> toBind = new ArrayList<>();
            List<String> toClose = new ArrayList<>();
            Map<String, ListenerConfig> wanted = new LinkedHashMap<>();
            next.listeners().forEach(l -> wanted.put(l.name(), l));
            synchronized (listeners) {
                for (Map.Entry<String, Bound> e : listeners.entrySet()) {
                    ListenerConfig now = e.getValue().context().config();
                    ListenerConfig then = wanted.get(e.getKey());
                    if (then == null || !then.address().equals(now.address()) || then.protocol() != now.protocol()
                            || !then.tls().equals(now.tls())) {
                        toClose.add(e.getKey());
                        if (then != null) {
                            toBind.add(then);
                        }
                    }
                }
                for (ListenerConfig l : next.listeners()) {
                    if (!listeners.containsKey(l.name())) {
                        toBind.add(l);
                    }
                }
            }
            for (ListenerConfig l : toBind) {
                if (l.tls().isPresent()) {
                    try {
                        ServerCertificates.load(l.name(), l.tls().get(), l.protocol() == ListenerConfig.Protocol.HTTP);
                    } catch (SSLException e) {
                        problems.add("listeners." + l.name() + ".tls: " + e.getMessage());
                    }
                }
            }
            if (!problems.isEmpty()) {
                metrics.reload(false);
                throw new ConfigException(next.source(), problems.stream()
                        .map(p -> new io.sluice.config.ConfigError("", p)).toList());
            }
            ProxyRuntime previous = runtime;
            runtime = built;
            built.activate(Optional.of(previous));
            health.apply(built);
            scraper.apply(built);
            for (String name : toClose) {
                Bound b = listeners.remove(name);
                b.channel().close();
                b.certificates().ifPresent(certificateWatcher::forget);
                drain(b.context());
            }
            // Certificates of listeners that stay are re-read too: a reload is also how operators push new ones.
            certificateWatcher.reloadAll();
            for (ListenerConfig l : next.listeners()) {
                Bound b = listeners.get(l.name());
                if (b != null) {
                    b.context().update(l);
                }
            }
            for (ListenerConfig l : toBind) {
                try {
                    bind(l);
                } catch (IOException e) {
                    LOG.error("reload: {}", e.getMessage());
                }
            }
            metrics.reload(true);
            LOG.info("configuration reloaded from {}", next.source());
        }
    }

    /**
     * Re-reads the config file the running config came from and applies it.
     *
     * @throws ConfigException with every error if the file is refused (the running config stays)
     */
    public void reloadFromSource() throws ConfigException {
        String source = runtime.config().source();
        java.nio.file.Path file = java.nio.file.Path.of(source);
        if (!java.nio.file.Files.isRegularFile(file)) {
            metrics.reload(false);
            throw new ConfigException(source, List.of(new io.sluice.config.ConfigError("",
                    "the running config was not loaded from a file, so it cannot be re-read")));
        }
        SluiceConfig next;
        try {
            next = SluiceConfig.load(file);
        } catch (ConfigException e) {
            metrics.reload(false);
            throw e;
        }
        reload(next);
    }

    /**
     * Stops gracefully: no new connections; idle keep-alive connections close at once; others close after their
     * current response; whatever is still open when the drain timeout ends is closed.
     *
     * @return true if every connection finished within the timeout
     */
    public boolean shutdown(Duration drainTimeout) {
        ready = false;
        List<Bound> all;
        synchronized (listeners) {
            all = new ArrayList<>(listeners.values());
        }
        for (Bound b : all) {
            b.channel().close().syncUninterruptibly();
            drain(b.context());
        }
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        boolean drained = true;
        for (Bound b : all) {
            while (!b.context().connections().isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    drained = false;
                    break;
                }
                try {
                    Thread.sleep(Math.min(20, TimeUnit.NANOSECONDS.toMillis(left) + 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    drained = false;
                    break;
                }
            }
        }
        close();
        return drained;
    }

    /** Asks every connection of a listener to end gracefully, on its own event loop. */
    private static void drain(ListenerContext context) {
        context.startDraining();
        context.connections().forEach(ch -> ch.eventLoop().execute(() -> {
            Drainable h = ch.pipeline().get(Drainable.class);
            if (h != null) {
                h.drain();
            } else {
                // Still in the TLS handshake or PROXY header: nothing in flight.
                ch.close();
            }
        }));
    }

    /** Closes everything at once. */
    @Override
    public void close() {
        ready = false;
        synchronized (listeners) {
            for (Bound b : listeners.values()) {
                b.channel().close();
                b.context().connections().close();
            }
            listeners.clear();
        }
        if (admin != null) {
            admin.close();
        }
        certificateWatcher.close();
        health.close();
        scraper.close();
        for (EventExecutor loop : group) {
            loop.execute(() -> {
                UpstreamPools.current().closeAll();
                UpstreamConnector.closeHttp2();
            });
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        accessLog.ifPresent(AccessLog::close);
    }

    /** Wraps a checked failure of a blocking admin action. */
    static UncheckedIOException unchecked(IOException e) {
        return new UncheckedIOException(e);
    }
}
