package io.sluice.proxy.route;

import io.sluice.config.RouteConfig;
import io.sluice.proxy.runtime.PoolRuntime;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An HTTP listener's routes, compiled: the first route whose conditions all hold picks the pool, drawing from a
 * weighted split when it has one.
 *
 * <p>Matching compares strings already extracted from the request (path without query, host without port) and
 * allocates nothing.
 */
public final class Router {

    /** What a request looks like to the router. */
    public interface Request {
        /** The method. */
        String method();

        /** The path, without the query. */
        String path();

        /** The host, lower case, without the port; empty if none. */
        String host();

        /** The value of a header (name in lower case), or empty. */
        Optional<String> header(String lowerName);
    }

    private record Route(String pathPrefix, String exactPath, String host, boolean wildcardHost,
                         String[] headerNames, String[] headerValues, Set<String> methods, PoolRuntime[] pools,
                         int[] cumulativeWeights) {

        boolean matches(Request r) {
            if (exactPath != null && !r.path().equals(exactPath)) {
                return false;
            }
            if (pathPrefix != null && !r.path().startsWith(pathPrefix)) {
                return false;
            }
            if (host != null && !(wildcardHost ? r.host().endsWith(host) && r.host().length() > host.length()
                    : r.host().equals(host))) {
                return false;
            }
            if (!methods.isEmpty() && !methods.contains(r.method())) {
                return false;
            }
            for (int i = 0; i < headerNames.length; i++) {
                Optional<String> v = r.header(headerNames[i]);
                if (v.isEmpty() || !v.get().equals(headerValues[i])) {
                    return false;
                }
            }
            return true;
        }

        PoolRuntime pick() {
            if (pools.length == 1) {
                return pools[0];
            }
            int total = cumulativeWeights[cumulativeWeights.length - 1];
            int x = ThreadLocalRandom.current().nextInt(total);
            for (int i = 0; i < cumulativeWeights.length; i++) {
                if (x < cumulativeWeights[i]) {
                    return pools[i];
                }
            }
            return pools[pools.length - 1];
        }
    }

    private final Route[] routes;

    private Router(Route[] routes) {
        this.routes = routes;
    }

    /** Compiles routes against the pools they name (which the config has checked exist). */
    public static Router compile(List<RouteConfig> configs, Map<String, PoolRuntime> pools) {
        Route[] routes = new Route[configs.size()];
        for (int i = 0; i < routes.length; i++) {
            RouteConfig rc = configs.get(i);
            RouteConfig.Match m = rc.match();
            String host = m.host().map(h -> h.toLowerCase(Locale.ROOT)).orElse(null);
            boolean wildcard = host != null && host.startsWith("*.");
            if (wildcard) {
                host = host.substring(1);
            }
            String[] names = m.headers().keySet().toArray(new String[0]);
            String[] values = new String[names.length];
            for (int h = 0; h < names.length; h++) {
                values[h] = m.headers().get(names[h]);
            }
            List<RouteConfig.Target> targets = rc.targets().stream().filter(t -> t.weight() > 0).toList();
            PoolRuntime[] targetPools = new PoolRuntime[targets.size()];
            int[] cumulative = new int[targets.size()];
            int sum = 0;
            for (int t = 0; t < targets.size(); t++) {
                targetPools[t] = pools.get(targets.get(t).pool());
                sum += targets.get(t).weight();
                cumulative[t] = sum;
            }
            routes[i] = new Route(m.pathPrefix().orElse(null), m.path().orElse(null), host, wildcard, names, values,
                    m.methods(), targetPools, cumulative);
        }
        return new Router(routes);
    }

    /** The pool for a request, or empty if no route matches. */
    public Optional<PoolRuntime> route(Request request) {
        for (Route r : routes) {
            if (r.matches(request)) {
                return Optional.of(r.pick());
            }
        }
        return Optional.empty();
    }
}
