package io.sluice.config;

import io.sluice.endpoint.Address;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import tools.jackson.databind.JsonNode;

/**
 * A whole Sluice configuration, read from YAML and checked.
 *
 * <p>Reading reports every problem at once, each with its path and the value found
 * ({@code pools[1].endpoints[0].address: port 70000 is out of range (1-65535)}): unknown keys, wrong types, bad
 * addresses and durations, duplicate names, routes to pools that do not exist, impossible combinations. A config
 * that reads without error is complete: the data plane builds its runtime objects from it and never reads these
 * records on the request path.
 *
 * @param ioThreads    event loops (0: one per core)
 * @param accessLog    where the access log goes
 * @param admin        the admin listener
 * @param drainTimeout on shutdown, how long in-flight requests may take to finish
 * @param listeners    the listeners
 * @param pools        the pools
 * @param source       where the config came from, for messages and reloads
 */
public record SluiceConfig(int ioThreads, AccessLogConfig accessLog, AdminConfig admin, Duration drainTimeout,
                           List<ListenerConfig> listeners, List<PoolConfig> pools, String source) {

    /** Copies the lists. */
    public SluiceConfig {
        listeners = List.copyOf(listeners);
        pools = List.copyOf(pools);
    }

    /** Reads and checks a config file; relative paths inside it are resolved against its directory. */
    public static SluiceConfig load(Path file) throws ConfigException {
        String text = ConfigText.read(file);
        Path dir = Optional.ofNullable(file.toAbsolutePath().getParent()).orElse(Path.of("."));
        return parse(text, file.toString(), dir);
    }

    /**
     * Reads and checks a config from text.
     *
     * @param yaml    the YAML text
     * @param source  a name for messages (the file name)
     * @param baseDir the directory relative paths are resolved against
     */
    public static SluiceConfig parse(String yaml, String source, Path baseDir) throws ConfigException {
        JsonNode tree = ConfigText.yaml(yaml, source);
        List<ConfigError> errors = new ArrayList<>();
        ConfigNode root = ConfigNode.root(tree, errors);
        int ioThreads = root.integer("io_threads", 0, 0, 1024);
        AccessLogConfig accessLog = root.objectOrDefaults("access_log", n -> AccessLogConfig.read(n, baseDir));
        AdminConfig admin = root.objectOrDefaults("admin", n -> AdminConfig.read(n, baseDir));
        Duration drain = root.duration("drain_timeout", Duration.ofSeconds(30), Duration.ZERO, Duration.ofHours(1));
        List<ListenerConfig> listeners = root.list("listeners", n -> ListenerConfig.read(n, baseDir));
        List<PoolConfig> pools = root.list("pools", n -> PoolConfig.read(n, baseDir));
        root.finish();
        if (listeners.isEmpty() && !root.has("listeners")) {
            errors.add(new ConfigError("listeners", "at least one listener is required"));
        }
        checkReferences(listeners, pools, admin, errors);
        if (!errors.isEmpty()) {
            throw new ConfigException(source, errors);
        }
        return new SluiceConfig(ioThreads, accessLog, admin, drain, listeners, pools, source);
    }

    private static void checkReferences(List<ListenerConfig> listeners, List<PoolConfig> pools, AdminConfig admin,
                                        List<ConfigError> errors) {
        Map<String, Integer> poolIndex = new HashMap<>();
        for (int i = 0; i < pools.size(); i++) {
            Integer first = poolIndex.putIfAbsent(pools.get(i).name(), i);
            if (first != null) {
                errors.add(new ConfigError("pools[" + i + "].name", "'" + pools.get(i).name()
                        + "' is already the name of pools[" + first + "]"));
            }
        }
        Map<String, Integer> listenerIndex = new HashMap<>();
        Map<Address, String> bound = new HashMap<>();
        if (admin.enabled() && admin.address().port() != 0) {
            bound.put(admin.address(), "admin.address");
        }
        for (int i = 0; i < listeners.size(); i++) {
            ListenerConfig l = listeners.get(i);
            String at = "listeners[" + i + "]";
            Integer first = listenerIndex.putIfAbsent(l.name(), i);
            if (first != null) {
                errors.add(new ConfigError(at + ".name", "'" + l.name() + "' is already the name of listeners["
                        + first + "]"));
            }
            if (l.address().port() != 0) {
                String other = bound.putIfAbsent(l.address(), at + ".address");
                if (other != null) {
                    errors.add(new ConfigError(at + ".address", l.address() + " is already used by " + other));
                }
            }
            for (int r = 0; r < l.routes().size(); r++) {
                List<RouteConfig.Target> targets = l.routes().get(r).targets();
                for (int t = 0; t < targets.size(); t++) {
                    String pool = targets.get(t).pool();
                    if (!pool.isEmpty() && !poolIndex.containsKey(pool)) {
                        String path = at + ".routes[" + r + "]." + (targets.size() == 1 && l.routes().get(r)
                                .targets().get(0).weight() == 1 ? "pool" : "split[" + t + "].pool");
                        errors.add(new ConfigError(path, unknownPool(pool, poolIndex.keySet())));
                    }
                }
            }
            l.pool().filter(p -> !poolIndex.containsKey(p)).ifPresent(p ->
                    errors.add(new ConfigError(at + ".pool", unknownPool(p, poolIndex.keySet()))));
            for (int s = 0; s < l.sniRoutes().size(); s++) {
                String p = l.sniRoutes().get(s).pool();
                if (!p.isEmpty() && !poolIndex.containsKey(p)) {
                    errors.add(new ConfigError(at + ".sni_routes[" + s + "].pool", unknownPool(p, poolIndex.keySet())));
                }
            }
        }
    }

    private static String unknownPool(String name, Set<String> known) {
        return "pool '" + name + "' is not defined" + (known.isEmpty() ? " (there are no pools)"
                : " (pools: " + String.join(", ", new java.util.TreeSet<>(known)) + ")");
    }

    /** The pool with a name. */
    public Optional<PoolConfig> pool(String name) {
        return pools.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** Names of every pool some route or tcp listener uses. */
    public Set<String> referencedPools() {
        Set<String> used = new HashSet<>();
        for (ListenerConfig l : listeners) {
            l.routes().forEach(r -> r.targets().forEach(t -> used.add(t.pool())));
            l.pool().ifPresent(used::add);
            l.sniRoutes().forEach(s -> used.add(s.pool()));
        }
        return used;
    }
}
