package io.sluice.inference;

import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Endpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * Turns the {@code model} a client asked for into the model (and LoRA adapter) the pool serves, or says that the
 * pool does not serve it, so that the proxy can answer 404 with the list of served names.
 *
 * <p>Resolution, in one step each (config validation forbids chains):
 * <ol>
 *   <li>An <b>alias</b> ({@code aliases: {llama3: llama-3-8b}}) is replaced by its model.</li>
 *   <li>A <b>weighted rewrite</b> ({@code rewrites: [{model: llama-3-8b, targets: {llama-3-8b-v1: 90,
 *       llama-3-8b-v2: 10}}]}) picks a target at random in proportion to its weight: a canary.</li>
 *   <li>A <b>served model</b> (the pool's {@code models}, or any endpoint's {@code models}) is used as is.</li>
 *   <li>A <b>LoRA adapter</b> (any endpoint's {@code adapters} label, or an adapter an engine reported resident) is
 *       served on top of the pool's base model; vLLM and SGLang address an adapter by putting its name in the
 *       {@code model} field. When the pool serves exactly one model, that is the base; otherwise the adapter name
 *       stands for itself and the scheduler sends it to the endpoints that list or hold it.</li>
 * </ol>
 * A pool that names no model anywhere serves whatever is asked (the endpoints will answer for themselves).
 *
 * <p>Immutable and thread-safe; build a new one when the config or the endpoints change.
 */
public final class ModelRouter {

    /**
     * Where a request goes.
     *
     * @param model   the served model
     * @param adapter the LoRA adapter, if the request named one
     */
    public record Route(String model, Optional<String> adapter) {
        /** Checks the fields. */
        public Route {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(adapter, "adapter");
        }
    }

    private final Map<String, String> aliases;
    private final Map<String, String[]> rewriteTargets;
    private final Map<String, long[]> rewriteCumulative;
    private final Set<String> models;
    private final Set<String> labelledAdapters;

    private ModelRouter(InferenceConfig config, Collection<Endpoint> endpoints) {
        aliases = Map.copyOf(config.aliases());
        Map<String, String[]> targets = new LinkedHashMap<>();
        Map<String, long[]> cumulative = new LinkedHashMap<>();
        for (InferenceConfig.Rewrite r : config.rewrites()) {
            String[] names = r.targets().keySet().toArray(new String[0]);
            long[] sums = new long[names.length];
            long sum = 0;
            for (int i = 0; i < names.length; i++) {
                sum += r.targets().get(names[i]);
                sums[i] = sum;
            }
            targets.put(r.model(), names);
            cumulative.put(r.model(), sums);
        }
        rewriteTargets = Map.copyOf(targets);
        rewriteCumulative = Map.copyOf(cumulative);
        Set<String> served = new LinkedHashSet<>(config.models());
        Set<String> adapters = new LinkedHashSet<>();
        for (Endpoint e : endpoints) {
            served.addAll(split(e.labels().get("models")));
            adapters.addAll(split(e.labels().get("adapters")));
        }
        models = java.util.Collections.unmodifiableSet(served);
        labelledAdapters = java.util.Collections.unmodifiableSet(adapters);
    }

    /** A router for a pool's config and endpoints. */
    public static ModelRouter of(InferenceConfig config, Collection<Endpoint> endpoints) {
        return new ModelRouter(config, endpoints);
    }

    /**
     * Resolves a requested model name.
     *
     * @param requested          the {@code model} field of the request
     * @param random             for weighted rewrites
     * @param discoveredAdapters adapters the engines reported ({@link FleetState#discoveredAdapters()})
     * @return the route, or empty if the pool does not serve the name (answer 404 with {@link #servedNames})
     */
    public Optional<Route> resolve(String requested, RandomGenerator random, Set<String> discoveredAdapters) {
        String name = aliases.getOrDefault(requested, requested);
        String[] targets = rewriteTargets.get(name);
        if (targets != null) {
            long[] sums = rewriteCumulative.get(name);
            long draw = random.nextLong(sums[sums.length - 1]);
            int i = 0;
            while (draw >= sums[i]) {
                i++;
            }
            name = targets[i];
        }
        if (models.contains(name)) {
            return Optional.of(new Route(name, Optional.empty()));
        }
        if (labelledAdapters.contains(name) || discoveredAdapters.contains(name)) {
            String base = models.size() == 1 ? models.iterator().next() : name;
            return Optional.of(new Route(base, Optional.of(name)));
        }
        if (models.isEmpty() && labelledAdapters.isEmpty()) {
            return Optional.of(new Route(name, Optional.empty()));
        }
        return Optional.empty();
    }

    /** True if the pool names its models (otherwise every name is accepted). */
    public boolean restricted() {
        return !models.isEmpty() || !labelledAdapters.isEmpty();
    }

    /**
     * Every name a client may ask for, for {@code GET /v1/models} and the 404 body: served models, adapters,
     * aliases and rewritten names.
     */
    public List<String> servedNames(Set<String> discoveredAdapters) {
        Set<String> out = new LinkedHashSet<>(models);
        out.addAll(labelledAdapters);
        out.addAll(discoveredAdapters);
        out.addAll(aliases.keySet());
        out.addAll(rewriteTargets.keySet());
        return List.copyOf(new ArrayList<>(out));
    }

    private static List<String> split(String csv) {
        List<String> out = new ArrayList<>();
        if (csv != null) {
            for (String s : csv.split(",")) {
                if (!s.isBlank()) {
                    out.add(s.strip());
                }
            }
        }
        return out;
    }
}
