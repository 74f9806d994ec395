package io.sluice.proxy.tcp;

import io.sluice.config.ListenerConfig;
import io.sluice.proxy.runtime.PoolRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A tcp listener's routing, compiled: by TLS server name when it has {@code sni_routes} (exact names first in
 * config order, {@code *.example.com} matching exactly one more label, as certificates do), else, or when no name
 * matches, its {@code pool}.
 */
public final class TcpRoutes {

    private record Route(String exact, String suffix, PoolRuntime pool) {
        boolean matches(String name) {
            if (exact != null) {
                return name.equals(exact);
            }
            return name.endsWith(suffix) && name.length() > suffix.length()
                    && name.lastIndexOf('.', name.length() - suffix.length() - 1) < 0;
        }
    }

    private final List<Route> routes;
    private final Optional<PoolRuntime> fallback;

    private TcpRoutes(List<Route> routes, Optional<PoolRuntime> fallback) {
        this.routes = routes;
        this.fallback = fallback;
    }

    /** Compiles a tcp listener's routes against the pools (which the config has checked exist). */
    public static TcpRoutes compile(ListenerConfig listener, Map<String, PoolRuntime> pools) {
        List<Route> routes = new ArrayList<>();
        for (ListenerConfig.SniRoute r : listener.sniRoutes()) {
            for (String name : r.serverNames()) {
                String n = name.toLowerCase(Locale.ROOT);
                routes.add(n.startsWith("*.") ? new Route(null, n.substring(1), pools.get(r.pool()))
                        : new Route(n, null, pools.get(r.pool())));
            }
        }
        // Exact names win over wildcards, whatever the order in the config.
        routes.sort((a, b) -> Boolean.compare(a.exact() == null, b.exact() == null));
        return new TcpRoutes(List.copyOf(routes), listener.pool().map(pools::get));
    }

    /** True if the listener routes by server name (so the ClientHello must be read first). */
    public boolean bySni() {
        return !routes.isEmpty();
    }

    /** The pool for a connection that asked for this server name (or none). */
    public Optional<PoolRuntime> route(Optional<String> serverName) {
        if (serverName.isPresent()) {
            String name = serverName.get().toLowerCase(Locale.ROOT);
            for (Route r : routes) {
                if (r.matches(name)) {
                    return Optional.of(r.pool());
                }
            }
        }
        return fallback;
    }
}
