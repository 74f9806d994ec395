package io.sluice.proxy.inference;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.Pool;
import io.sluice.config.InferenceConfig;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.Member;
import io.sluice.inference.EngineMetricsParser;
import io.sluice.inference.FleetState;
import io.sluice.inference.FlowController;
import io.sluice.inference.InferencePolicies;
import io.sluice.inference.ModelRouter;
import io.sluice.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The inference side of a pool with an inference policy ({@code inference}, {@code llm-d},
 * {@code sglang-cache-aware}), as the data plane uses it: the policy's {@link FleetState} (where scraped engine
 * metrics are published), the {@link ModelRouter}, the engine's {@link EngineMetricsParser} and the central
 * {@link FlowController} queue.
 *
 * <p>A reload keeps what the pool learned when it can: the fleet (prefix index, learned rates, sessions) when the
 * policy and the inference settings are unchanged, the queue when its limits are unchanged (otherwise the requests
 * waiting in the old queue move to the new one, keeping their priority and tenant).
 *
 * <p>Models: the pool's {@code inference.models} and the endpoints' {@code models}/{@code adapters}. When none are
 * configured, the scraper discovers each endpoint's models from {@code GET /v1/models}, and the pool routes a request
 * only to endpoints that reported its model.
 */
public final class InferencePool {

    private final String name;
    private final String policy;
    private final InferenceConfig config;
    private final Pool pool;
    private final FleetState fleet;
    private final EngineMetricsParser parser;
    private final FlowController<InferenceCall> queue;
    private final List<Endpoint> configured;
    private final boolean discover;
    private final Map<Address, Set<String>> discovered;
    private volatile ModelRouter models;
    /** The pool that replaced this one on a reload, once it is in force. */
    private volatile InferencePool successor;
    /** The discoveries {@link #models} was built from (guarded by the {@code discovered} map's lock). */
    private Map<Address, Set<String>> modelsBuiltFrom = Map.of();

    private InferencePool(PoolConfig config, InferenceConfig settings, Pool pool, FleetState fleet,
                          Optional<InferencePool> previous, Clock clock) {
        this.name = config.name();
        this.policy = config.policy();
        this.config = settings;
        this.pool = pool;
        this.fleet = fleet;
        this.parser = EngineMetricsParser.of(settings.engine());
        this.queue = previous.filter(p -> p.config.flowControl().equals(settings.flowControl()))
                .map(p -> p.queue)
                .orElseGet(() -> FlowController.of(config.name(),
                        InferencePolicies.flowControlFor(config.policy(), settings.flowControl()), clock,
                        (call, reason, retryAfter) -> call.refused(reason, retryAfter)));
        this.configured = List.copyOf(config.endpoints());
        ModelRouter fromConfig = ModelRouter.of(settings, configured);
        this.discover = !fromConfig.restricted();
        this.discovered = previous.filter(p -> p.discover).map(p -> p.discovered)
                .orElseGet(ConcurrentHashMap::new);
        synchronized (discovered) {
            this.models = discover && !discovered.isEmpty() ? routerWithDiscovered() : fromConfig;
        }
    }

    /**
     * The pool's load balancer if its policy is an inference policy: on the previous fleet when the policy and the
     * inference settings did not change, else on a fresh one.
     */
    public static Optional<LoadBalancer> balancer(PoolConfig config, Optional<InferencePool> previous, Clock clock) {
        if (!InferencePolicies.handles(config.policy())) {
            return Optional.empty();
        }
        InferenceConfig settings = config.inference().orElseGet(InferenceConfig::defaults);
        Optional<InferencePool> same = previous.filter(p -> p.policy.equals(config.policy())
                && p.config.equals(settings));
        if (same.isPresent()) {
            return Optional.of(InferencePolicies.of(config.policy(), same.get().fleet, ThreadLocalRandom::current));
        }
        return Optional.of(InferencePolicies.of(config, ThreadLocalRandom::current, clock));
    }

    /** The inference side of a pool built with {@link #balancer}; empty for other policies. */
    public static Optional<InferencePool> of(PoolConfig config, Pool pool, Optional<InferencePool> previous,
                                             Clock clock) {
        return InferencePolicies.fleet(pool.balancer()).map(fleet -> new InferencePool(config,
                config.inference().orElseGet(InferenceConfig::defaults), pool, fleet, previous, clock));
    }

    /**
     * Puts this pool in force after a reload: requests still waiting in a replaced queue move to this one.
     *
     * @param previous the inference pool this one replaced, or empty
     */
    public void activate(Optional<InferencePool> previous) {
        previous.ifPresent(p -> {
            // First: from now on a request that still holds the replaced pool (its body was being read, or its
            // retry is coming back to the queue) follows on to this one instead of waiting in a queue nobody
            // dispatches or expires any more.
            p.successor = this;
            if (p.queue != queue) {
                p.queue.dispatch(call -> {
                    call.moveTo(this);
                    return true;
                });
            }
        });
    }

    /** The pool in force for a request that holds this one: this pool, or the newest one that replaced it. */
    public InferencePool current() {
        InferencePool p = this;
        for (InferencePool next = p.successor; next != null; next = p.successor) {
            p = next;
        }
        return p;
    }

    /** The pool's name. */
    public String name() {
        return name;
    }

    /** The inference settings. */
    public InferenceConfig config() {
        return config;
    }

    /** What the router knows about the endpoints; scraped metrics are published here. */
    public FleetState fleet() {
        return fleet;
    }

    /** The metrics parser of the pool's engine. */
    public EngineMetricsParser parser() {
        return parser;
    }

    /** The central queue. */
    public FlowController<InferenceCall> queue() {
        return queue;
    }

    /** The core pool (members, policy). */
    Pool pool() {
        return pool;
    }

    /** Model routing as of now (configured names, or names discovered from the endpoints). */
    public ModelRouter models() {
        return models;
    }

    /** True if models are discovered from {@code GET /v1/models} because none are configured. */
    public boolean discoversModels() {
        return discover;
    }

    /**
     * Records the models an endpoint reported in {@code GET /v1/models}. Discoveries of different endpoints complete
     * on different threads: the map's update and the router built from it happen under the map's lock, or a router
     * built from an older map could be published last and hide an endpoint's models until they change.
     */
    public void discovered(Address endpoint, Set<String> names) {
        Set<String> copy = Set.copyOf(names);
        synchronized (discovered) {
            discovered.put(endpoint, copy);
            // Also when this endpoint's list is unchanged: the map is shared with the pool this one replaced, whose
            // discoveries may have changed it since this pool's router was built.
            if (!discovered.equals(modelsBuiltFrom)) {
                models = routerWithDiscovered();
            }
        }
    }

    /** Forgets endpoints that left the pool. */
    void retainDiscovered(Set<Address> present) {
        synchronized (discovered) {
            if (discovered.keySet().retainAll(present)) {
                models = routerWithDiscovered();
            }
        }
    }

    /**
     * True if the endpoint may serve the model: always, unless models are discovered and the endpoint reported a
     * list without it.
     */
    boolean mayServe(Member member, String model) {
        if (!discover) {
            return true;
        }
        Set<String> names = discovered.get(member.address());
        return names == null || names.contains(model);
    }

    /** Under the {@code discovered} map's lock. */
    private ModelRouter routerWithDiscovered() {
        modelsBuiltFrom = Map.copyOf(discovered);
        Map<Address, Endpoint> byAddress = new LinkedHashMap<>();
        for (Endpoint e : configured) {
            byAddress.put(e.address(), e);
        }
        List<Endpoint> labelled = new ArrayList<>();
        for (Map.Entry<Address, Set<String>> d : modelsBuiltFrom.entrySet()) {
            Endpoint base = byAddress.getOrDefault(d.getKey(), Endpoint.of(d.getKey()));
            Map<String, String> labels = new HashMap<>(base.labels());
            labels.put("models", String.join(",", d.getValue()));
            labelled.add(new Endpoint(base.address(), base.weight(), base.backup(), labels));
        }
        return ModelRouter.of(config, labelled);
    }

    /**
     * Lets up to {@code budget} queued requests leave, best first, while the policy finds an endpoint that is not
     * saturated: {@link FleetState#RELEASED_BY_REQUEST} per request that ended or returned its first token,
     * {@link FleetState#releasedByReading} per fresh reading (the pacing the replay uses too).
     */
    public void dispatchQueued(int budget) {
        if (budget > 0 && queue.size() > 0) {
            queue.dispatch(InferenceCall::tryDispatch, budget);
        }
    }

    /** Refuses queued requests that waited past the queue timeout. */
    public void expireQueued() {
        if (queue.size() > 0) {
            queue.expire();
        }
    }
}
