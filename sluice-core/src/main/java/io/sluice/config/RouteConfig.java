package io.sluice.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One route of an HTTP listener: a match, and the pool (or weighted split of pools) that serves what matches.
 * Routes are tried in order; the first match wins.
 *
 * @param match   what the request must look like
 * @param targets the pools, with weights (one target of weight 1 for {@code pool: NAME})
 */
public record RouteConfig(Match match, List<Target> targets) {

    /**
     * Conditions that must all hold. An empty match matches everything.
     *
     * @param pathPrefix the path starts with this ({@code /v1/})
     * @param path       the path equals this
     * @param host       the host (port stripped, case-insensitive) equals this, or ends with it for {@code *.a.b}
     * @param headers    each header is present with exactly this value (names case-insensitive)
     * @param methods    the method is one of these (upper case); empty means any
     */
    public record Match(Optional<String> pathPrefix, Optional<String> path, Optional<String> host,
                        Map<String, String> headers, Set<String> methods) {
        /** Copies the collections. */
        public Match {
            headers = Map.copyOf(headers);
            methods = Set.copyOf(methods);
        }

        /** Matches everything. */
        public static final Match ANY = new Match(Optional.empty(), Optional.empty(), Optional.empty(), Map.of(),
                Set.of());
    }

    /** A pool and its share of a split. */
    public record Target(String pool, int weight) {
    }

    /** Copies the list. */
    public RouteConfig {
        targets = List.copyOf(targets);
    }

    static RouteConfig read(ConfigNode n) {
        Match match = n.object("match", RouteConfig::readMatch).orElse(Match.ANY);
        Optional<String> pool = n.optString("pool");
        List<Target> split = n.list("split", t -> new Target(t.requiredString("pool"),
                t.integer("weight", 1, 0, 1_000_000)));
        List<Target> targets = new ArrayList<>();
        if (pool.isPresent() && n.has("split")) {
            n.error("pool", "a route takes either pool or split, not both");
        } else if (pool.isPresent()) {
            targets.add(new Target(pool.get(), 1));
        } else if (!split.isEmpty()) {
            if (split.stream().mapToInt(Target::weight).sum() == 0) {
                n.error("split", "the weights add up to 0; at least one target needs a positive weight");
            }
            targets.addAll(split);
        } else {
            n.error("pool", "a route needs a pool (pool: NAME) or a weighted split (split: [{pool, weight}])");
        }
        return new RouteConfig(match, targets);
    }

    private static Match readMatch(ConfigNode m) {
        Optional<String> prefix = m.optString("path_prefix");
        prefix.filter(p -> !p.startsWith("/")).ifPresent(p -> m.error("path_prefix", "'" + p
                + "' must start with '/'"));
        Optional<String> path = m.optString("path");
        path.filter(p -> !p.startsWith("/")).ifPresent(p -> m.error("path", "'" + p + "' must start with '/'"));
        Optional<String> host = m.optString("host").map(h -> h.toLowerCase(Locale.ROOT));
        host.filter(h -> !h.matches("(\\*\\.)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?"))
                .ifPresent(h -> m.error("host", "'" + h + "' is not a host name (a wildcard is written *.example.com)"));
        Map<String, String> headers = new LinkedHashMap<>();
        m.stringMap("headers").forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), v));
        Set<String> methods = new LinkedHashSet<>();
        for (String method : m.stringList("methods")) {
            String upper = method.toUpperCase(Locale.ROOT);
            if (!upper.matches("[A-Z]+")) {
                m.error("methods", "'" + method + "' is not an HTTP method");
            }
            methods.add(upper);
        }
        return new Match(prefix, path, host, headers, methods);
    }
}
