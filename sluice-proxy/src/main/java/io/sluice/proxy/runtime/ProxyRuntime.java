package io.sluice.proxy.runtime;

import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.ListenerConfig;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.route.Router;
import io.sluice.proxy.tcp.TcpRoutes;
import io.sluice.time.Clock;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * Everything the data plane needs from one configuration, built once and swapped atomically on reload: the pools
 * (keeping the members, load and health of endpoints that stay), each HTTP listener's compiled router and each tcp
 * listener's routes.
 *
 * <p>Connections read the current runtime at each request head, so a reload applies to the next request of every
 * open keep-alive connection and never to a request in flight.
 */
public final class ProxyRuntime {

    private final SluiceConfig config;
    private final Map<String, PoolRuntime> pools;
    private final Map<String, Router> routers;
    private final Map<String, TcpRoutes> tcpRoutes;

    private ProxyRuntime(SluiceConfig config, Map<String, PoolRuntime> pools, Map<String, Router> routers,
                         Map<String, TcpRoutes> tcpRoutes) {
        this.config = config;
        this.pools = pools;
        this.routers = routers;
        this.tcpRoutes = tcpRoutes;
    }

    /**
     * Builds the runtime of a config.
     *
     * @param previous the runtime it replaces, whose pool members are kept
     * @throws ConfigException if an endpoint cannot be resolved
     */
    public static ProxyRuntime build(SluiceConfig config, Optional<ProxyRuntime> previous, Clock clock)
            throws ConfigException {
        Map<String, PoolRuntime> pools = new LinkedHashMap<>();
        List<ConfigError> errors = new ArrayList<>();
        for (int i = 0; i < config.pools().size(); i++) {
            PoolConfig pc = config.pools().get(i);
            try {
                pools.put(pc.name(), PoolRuntime.build(pc, previous.flatMap(p -> p.pool(pc.name())), clock));
            } catch (UnknownHostException e) {
                errors.add(new ConfigError("pools[" + i + "].endpoints", "cannot resolve host: " + e.getMessage()));
            } catch (SSLException e) {
                errors.add(new ConfigError("pools[" + i + "].tls", e.getMessage()));
            } catch (IllegalArgumentException e) {
                errors.add(new ConfigError("pools[" + i + "].policy", e.getMessage()));
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(config.source(), errors);
        }
        Map<String, Router> routers = new LinkedHashMap<>();
        Map<String, TcpRoutes> tcpRoutes = new LinkedHashMap<>();
        for (ListenerConfig l : config.listeners()) {
            if (l.protocol() == ListenerConfig.Protocol.HTTP) {
                routers.put(l.name(), Router.compile(l.routes(), pools));
            } else {
                tcpRoutes.put(l.name(), TcpRoutes.compile(l, pools));
            }
        }
        return new ProxyRuntime(config, Map.copyOf(pools), Map.copyOf(routers), Map.copyOf(tcpRoutes));
    }

    /**
     * Puts this runtime in force once it has replaced {@code previous} (see {@link PoolRuntime#activate}). Called
     * once, right after the swap.
     */
    public void activate(Optional<ProxyRuntime> previous) {
        for (PoolRuntime p : pools.values()) {
            p.activate(previous.flatMap(r -> r.pool(p.name())));
        }
    }

    /** The config this runtime was built from. */
    public SluiceConfig config() {
        return config;
    }

    /** A pool by name. */
    public Optional<PoolRuntime> pool(String name) {
        return Optional.ofNullable(pools.get(name));
    }

    /** Every pool, in config order. */
    public Collection<PoolRuntime> pools() {
        List<PoolRuntime> ordered = new ArrayList<>();
        for (PoolConfig pc : config.pools()) {
            ordered.add(pools.get(pc.name()));
        }
        return ordered;
    }

    /** The routes of a tcp listener. */
    public Optional<TcpRoutes> tcpRoutes(String listener) {
        return Optional.ofNullable(tcpRoutes.get(listener));
    }

    /** The router of an HTTP listener. */
    public Optional<Router> router(String listener) {
        return Optional.ofNullable(routers.get(listener));
    }
}
