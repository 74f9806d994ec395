package io.sluice.inference;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.Selector;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.Objects;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * What the inference-aware policies ({@code inference} and the {@code llm-d} and {@code sglang-cache-aware}
 * baselines) share: a {@link FleetState}, the candidate filters of {@link Candidates}, and the way a pick reads
 * the request from the {@link PickContext}.
 *
 * <p>The attachment may be an {@link InferenceExchange} (the proxy and the replay attach one, so that feedback
 * reaches the fleet) or a bare {@link InferenceRequest}. Without either, the request carries no features (a
 * {@code GET /v1/models}, say) and goes to the least-loaded candidate. Each decision runs under the fleet's lock.
 */
abstract class InferencePolicy implements LoadBalancer {

    final FleetState fleet;
    private final Supplier<RandomGenerator> random;

    InferencePolicy(FleetState fleet, Supplier<RandomGenerator> random) {
        this.fleet = Objects.requireNonNull(fleet, "fleet");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** The fleet this policy reads and books decisions into. */
    FleetState fleet() {
        return fleet;
    }

    @Override
    public final Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            synchronized (fleet.lock) {
                fleet.retainLocked(snapshot.members().stream().map(Member::address).toList());
            }
            NoEndpointException failure = NoEndpointException.of(snapshot.members().isEmpty()
                    ? NoEndpointException.Reason.NO_ENDPOINTS : NoEndpointException.Reason.NONE_USABLE);
            return ctx -> {
                throw failure;
            };
        }
        Candidates candidates = new Candidates(snapshot, fleet);
        RandomGenerator rnd = random.get();
        return ctx -> select(candidates, ctx, rnd);
    }

    private Member select(Candidates c, PickContext ctx, RandomGenerator rnd) {
        Object a = ctx.attachment();
        InferenceExchange x = a instanceof InferenceExchange ex ? ex : null;
        InferenceRequest r = x != null ? x.request() : a instanceof InferenceRequest ir ? ir : null;
        FleetState booked = x == null ? null : x.fleet();
        if (booked != null && booked != fleet) {
            // Booked through another pool's fleet (a request moved to a new pool across a reload, retried through
            // this one): take that booking back under its own fleet's lock.
            synchronized (booked.lock) {
                x.undoDispatch();
            }
        }
        synchronized (fleet.lock) {
            c.refreshLocked(fleet);
            if (x != null) {
                x.undoDispatch();
            }
            if (r == null) {
                return c.leastLoaded(ctx, rnd);
            }
            if (c.filter(r, ctx) == 0) {
                throw NoEndpointException.of(NoEndpointException.Reason.NOT_SERVED);
            }
            return pick(c, r, x, ctx, rnd);
        }
    }

    /**
     * Picks among the feasible candidates ({@link Candidates#feasible}) and books the decision with
     * {@link FleetState#dispatchLocked}. Called under the fleet's lock.
     *
     * @throws NoEndpointException with {@code SATURATED} if every feasible candidate is saturated
     */
    abstract Member pick(Candidates c, InferenceRequest r, InferenceExchange x, PickContext ctx,
                         RandomGenerator random);
}
