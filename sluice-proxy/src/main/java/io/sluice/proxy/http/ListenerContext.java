package io.sluice.proxy.http;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.sluice.config.ListenerConfig;
import io.sluice.proxy.log.AccessLog;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.proxy.upstream.UpstreamConnector;
import io.sluice.time.Clock;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * What every connection of one listener shares: its settings, the current runtime (swapped on reload), metrics, the
 * access log, and the set of open connections (for graceful drain).
 */
public final class ListenerContext {

    private final String name;
    private final boolean tls;
    private final Supplier<ProxyRuntime> runtime;
    private final ProxyMetrics metrics;
    private final Optional<AccessLog> accessLog;
    private final Clock clock;
    private final UpstreamConnector connector;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final java.util.concurrent.atomic.AtomicInteger open = new java.util.concurrent.atomic.AtomicInteger();
    private volatile Channel serverChannel;
    private volatile ListenerConfig config;
    private volatile boolean draining;
    private volatile Optional<ProtocolSwitch> protocolSwitch = Optional.empty();

    /**
     * Creates the context of a listener.
     *
     * @param config    the listener's configuration
     * @param tls       true if connections arrive over TLS (X-Forwarded-Proto https, Secure cookies)
     * @param runtime   the current runtime
     * @param metrics   the metrics
     * @param accessLog the access log, if on
     * @param clock     the clock
     * @param connector opens upstream connections
     */
    public ListenerContext(ListenerConfig config, boolean tls, Supplier<ProxyRuntime> runtime, ProxyMetrics metrics,
                           Optional<AccessLog> accessLog, Clock clock, UpstreamConnector connector) {
        this.name = config.name();
        this.config = config;
        this.tls = tls;
        this.runtime = runtime;
        this.metrics = metrics;
        this.accessLog = accessLog;
        this.clock = clock;
        this.connector = connector;
    }

    /** The listener's name. */
    public String name() {
        return name;
    }

    /** The listener's current configuration. */
    public ListenerConfig config() {
        return config;
    }

    /** Applies a reloaded configuration of this listener (same address and protocol). */
    public void update(ListenerConfig replacement) {
        this.config = replacement;
    }

    /** True for TLS listeners. */
    public boolean tls() {
        return tls;
    }

    /** The runtime requests are routed with. */
    public ProxyRuntime runtime() {
        return runtime.get();
    }

    /** The metrics. */
    public ProxyMetrics metrics() {
        return metrics;
    }

    /** The access log, if on. */
    public Optional<AccessLog> accessLog() {
        return accessLog;
    }

    /** The clock. */
    public Clock clock() {
        return clock;
    }

    /** Opens upstream connections. */
    public UpstreamConnector connector() {
        return connector;
    }

    /** The listening socket, so accepting can pause at {@code limits.max_connections}. */
    public void serverChannel(Channel channel) {
        this.serverChannel = channel;
    }

    /**
     * Tracks a new client connection until it closes. At {@code limits.max_connections} the listener stops
     * accepting (new connections wait in the kernel's backlog, as with HAProxy's {@code maxconn}) and resumes when
     * one closes. A connection that was accepted before the pause took effect is closed at once, so the limit holds.
     *
     * @return false if the connection was over the limit and is being closed
     */
    public boolean register(Channel channel) {
        connections.add(channel);
        int max = config.limits().maxConnections();
        if (max <= 0) {
            return true;
        }
        int now = open.incrementAndGet();
        channel.closeFuture().addListener(f -> {
            if (open.decrementAndGet() < config.limits().maxConnections()) {
                setAccepting(true);
            }
        });
        if (now > max) {
            metrics.proxyError(name, "connection_limit");
            channel.close();
            return false;
        }
        if (now == max) {
            setAccepting(false);
        }
        return true;
    }

    private void setAccepting(boolean accept) {
        Channel server = serverChannel;
        if (server != null && server.isActive() && server.config().isAutoRead() != accept) {
            server.config().setAutoRead(accept);
        }
    }

    /** Open client connections. */
    public ChannelGroup connections() {
        return connections;
    }

    /** The switch to HTTP/2 that cleartext HTTP/1.1 requests may ask for, if offered. */
    public Optional<ProtocolSwitch> protocolSwitch() {
        return protocolSwitch;
    }

    /** Offers a protocol switch to this listener's HTTP/1.1 connections. */
    public void offer(ProtocolSwitch value) {
        this.protocolSwitch = Optional.of(value);
    }

    /** True once shutdown began: connections close after their current response. */
    public boolean draining() {
        return draining;
    }

    /** Starts draining. */
    public void startDraining() {
        draining = true;
    }
}
