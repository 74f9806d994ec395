package io.sluice.inference;

import io.sluice.balance.PickContext;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * One snapshot's candidates as the inference policies see them: each member with its {@link EndpointState} and
 * what it serves, plus the filters every inference policy applies before it scores.
 *
 * <p><b>Filters</b> (in order; each says why when nothing passes):
 * <ol>
 *   <li><b>Serves the model.</b> An endpoint's {@code models} label (comma-separated, from {@code models:} in its
 *       config) lists what it serves; without one, the pool's {@code inference.models} applies; with neither, the
 *       endpoint serves anything. A request for a LoRA adapter is also served by endpoints that list or hold the
 *       adapter. An endpoint the request {@linkplain PickContext#disallow disallowed} (in the proxy: its models
 *       discovered from {@code GET /v1/models} do not include this one) never serves it.
 *       None: {@link io.sluice.balance.NoEndpointException.Reason#NOT_SERVED}.</li>
 *   <li><b>Has or can load the adapter.</b> The adapter is in the endpoint's {@code adapters} label or resident
 *       according to its metrics, or the endpoint lists no adapters but runs LoRA (its metrics report LoRA slots).
 *       When no endpoint of the pool says anything about adapters (no labels, an engine without LoRA metrics),
 *       this filter is skipped rather than refusing every request.</li>
 *   <li><b>Not already tried</b> by this request ({@link PickContext#excluded}), unless nothing else is left.</li>
 * </ol>
 * Health, drain and slow start were applied by {@link EndpointSet} before any of this.
 *
 * <p>Built once per snapshot; the served-model masks are cached per model name. Used under the fleet's lock, so
 * the scratch arrays are shared by all decisions on this snapshot.
 */
final class Candidates {

    final Member[] members;
    final EndpointState[] states;
    final int size;
    private final Set<String>[] models;
    private final Set<String>[] adapters;
    private final boolean anyAdapterLabels;
    private final List<String> poolModels;
    private final Map<String, boolean[]> servedCache = new HashMap<>();

    // Per-decision scratch, indexed by candidate.
    final boolean[] feasible;
    final int[] matched;
    final double[] cost;
    final double[] ttft;
    final int[] uncached;
    final double[] kv;
    final int[] waiting;
    final boolean[] saturated;
    /** Over the balance cap: far more requests in flight than the fleet's mean (see {@code InferenceScheduler}). */
    final boolean[] overloaded;
    /** Requests in flight (the fleet state's own count with feedback, else the data plane's). */
    final int[] inFlight;
    /** True while {@link #overloaded} excludes servers in the current decision. */
    boolean capped;
    /**
     * In the current decision, the request's TTFT objective in tokens of prefill when some open server is predicted
     * to meet it (then it bounds eligibility instead of the load guard's band), else 0 (see
     * {@code InferenceScheduler}).
     */
    double sloBound;
    final double[] score;
    int[] bySlot = new int[64];
    /** The fleet's generation {@link #states} were looked up at. */
    private int generation;

    @SuppressWarnings("unchecked")
    Candidates(EndpointSet snapshot, FleetState fleet) {
        List<Member> list = snapshot.candidates();
        size = list.size();
        members = list.toArray(new Member[0]);
        states = new EndpointState[size];
        models = new Set[size];
        adapters = new Set[size];
        boolean labelled = false;
        synchronized (fleet.lock) {
            List<io.sluice.endpoint.Address> all = new ArrayList<>();
            for (Member m : snapshot.members()) {
                all.add(m.address());
            }
            fleet.retainLocked(all);
            for (int i = 0; i < size; i++) {
                states[i] = fleet.endpointLocked(members[i].address());
            }
            generation = fleet.generationLocked();
        }
        for (int i = 0; i < size; i++) {
            Map<String, String> labels = members[i].endpoint().labels();
            models[i] = split(labels.get("models"));
            adapters[i] = split(labels.get("adapters"));
            labelled |= adapters[i] != null;
        }
        anyAdapterLabels = labelled;
        poolModels = fleet.config().models();
        feasible = new boolean[size];
        matched = new int[size];
        cost = new double[size];
        ttft = new double[size];
        uncached = new int[size];
        kv = new double[size];
        waiting = new int[size];
        saturated = new boolean[size];
        overloaded = new boolean[size];
        inFlight = new int[size];
        score = new double[size];
    }

    private static Set<String> split(String csv) {
        if (csv == null || csv.isBlank()) {
            return null;
        }
        Set<String> out = new LinkedHashSet<>();
        for (String s : csv.split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out.isEmpty() ? null : out;
    }

    /**
     * Looks the candidates' states up again if the fleet forgot endpoints since (see
     * {@link FleetState#generationLocked}), so that this snapshot reads the states readings are published into.
     * Called under the fleet's lock before each decision.
     */
    void refreshLocked(FleetState fleet) {
        int now = fleet.generationLocked();
        if (now != generation) {
            for (int i = 0; i < size; i++) {
                states[i] = fleet.endpointLocked(members[i].address());
            }
            generation = now;
        }
    }

    /** Which candidates serve a model (cached per name). */
    private boolean[] servedMask(String model) {
        boolean[] mask = servedCache.get(model);
        if (mask == null) {
            mask = new boolean[size];
            for (int i = 0; i < size; i++) {
                mask[i] = models[i] != null ? models[i].contains(model)
                        : poolModels.isEmpty() || poolModels.contains(model);
            }
            if (servedCache.size() > 1024) {
                servedCache.clear();   // bounded even if clients send random names
            }
            servedCache.put(model, mask);
        }
        return mask;
    }

    /** True if the candidate has the adapter resident, by label or by metrics. */
    boolean adapterResident(int i, String adapter) {
        if (adapters[i] != null && adapters[i].contains(adapter)) {
            return true;
        }
        ServerMetrics m = states[i].metrics;
        return m != null && m.runningAdapters().contains(adapter);
    }

    /** True if the candidate runs LoRA and has a free adapter slot. */
    boolean adapterSlotFree(int i) {
        ServerMetrics m = states[i].metrics;
        return m != null && m.maxAdapters() > 0 && m.runningAdapters().size() < m.maxAdapters();
    }

    private boolean adapterCapable(int i, String adapter) {
        if (adapters[i] != null) {
            return adapters[i].contains(adapter);
        }
        ServerMetrics m = states[i].metrics;
        return m != null && (m.maxAdapters() > 0 || m.runningAdapters().contains(adapter));
    }

    private boolean anyAdapterInfo() {
        if (anyAdapterLabels) {
            return true;
        }
        for (EndpointState s : states) {
            ServerMetrics m = s.metrics;
            if (m != null && (m.maxAdapters() > 0 || !m.runningAdapters().isEmpty())) {
                return true;
            }
        }
        return false;
    }

    /**
     * Applies the filters, setting {@link #feasible}. An endpoint the request {@linkplain PickContext#disallow
     * disallowed} (it does not serve the model, by its discovered list) is never feasible.
     *
     * @return the number of feasible candidates; 0 means nothing serves the request
     */
    int filter(InferenceRequest r, PickContext ctx) {
        boolean[] served = servedMask(r.model());
        String adapter = r.adapter().orElse(null);
        boolean checkAdapter = adapter != null && anyAdapterInfo();
        int count = 0;
        for (int i = 0; i < size; i++) {
            boolean ok = (served[i] || (adapter != null && adapterResident(i, adapter))) && ctx.allowed(members[i]);
            if (ok && checkAdapter) {
                ok = adapterCapable(i, adapter);
            }
            feasible[i] = ok;
            if (ok) {
                count++;
            }
        }
        if (count > 0 && ctx.hasExclusions()) {
            int left = 0;
            for (int i = 0; i < size; i++) {
                if (feasible[i] && !ctx.excluded(members[i])) {
                    left++;
                }
            }
            if (left > 0) {
                for (int i = 0; i < size; i++) {
                    if (feasible[i] && ctx.excluded(members[i])) {
                        feasible[i] = false;
                    }
                }
                count = left;
            }
        }
        return count;
    }

    /** Fills {@link #matched} with each candidate's longest cached prefix, in blocks; returns the longest. */
    int matchPrefix(FleetState fleet, long[] hashes, int blocks) {
        if (blocks == 0) {
            Arrays.fill(matched, 0);
            return 0;
        }
        int slots = fleet.slotLimit();
        if (bySlot.length < slots) {
            bySlot = new int[Math.max(slots, bySlot.length * 2)];
        }
        int best = fleet.index.match(hashes, blocks, bySlot);
        for (int i = 0; i < size; i++) {
            matched[i] = bySlot[states[i].slot];
        }
        Arrays.fill(bySlot, 0, slots, 0);
        return best;
    }

    /**
     * The least-loaded candidate by requests in flight (the data plane's count), ties broken at random: the choice
     * for a request that carries no inference features.
     */
    Member leastLoaded(PickContext ctx, RandomGenerator random) {
        Member best = null;
        long bestLoad = Long.MAX_VALUE;
        int ties = 0;
        boolean exclusions = ctx.hasExclusions();
        for (int pass = 0; pass < 2 && best == null; pass++) {
            for (int i = 0; i < size; i++) {
                if (pass == 0 && exclusions && ctx.excluded(members[i])) {
                    continue;
                }
                long load = members[i].load().activeRequests();
                if (load < bestLoad) {
                    bestLoad = load;
                    best = members[i];
                    ties = 1;
                } else if (load == bestLoad && random.nextInt(++ties) == 0) {
                    best = members[i];
                }
            }
        }
        return best;
    }
}
