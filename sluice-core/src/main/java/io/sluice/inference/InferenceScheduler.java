package io.sluice.inference;

import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Member;
import java.util.Map;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * {@code policy: inference}: picks the model server that will return the first token soonest, preferring cache
 * and session affinity only among servers that are nearly as fast.
 *
 * <p><b>1. Filters</b> ({@link Candidates}): serves the model, has or can load the adapter, not already tried.
 * Then servers that are <em>saturated</em> are set aside: their fresh metrics show {@code waiting >=
 * saturation.queue}, or requests waiting while KV use is {@code >= saturation.kv_cache} (counting what was sent
 * since the scrape), or the prefill the router sent them and has not seen the first token of exceeds
 * {@code saturation.prefill_backlog} (500 ms) at the learned prefill rate. The last rule keeps a burst in the
 * central queue, which releases the shortest predicted prefill first, rather than in the engines' first-come,
 * first-served queues: each server keeps about half a second of prefill ahead of it, enough to fill its batches
 * between two releases, and no more. Saturated servers are excluded except for requests whose prefix they hold
 * (their queue is then weighed against the cached prefix by the cost); if every server is saturated, the pick
 * fails with {@code SATURATED} and the flow controller queues the request centrally. High KV use without a queue
 * is not saturation: vLLM runs its cache nearly full by design, and holding requests back then only lowers
 * throughput; the cost below still steers away from full caches.
 *
 * <p><b>2. Cost.</b> In tokens of prefill work (the estimated TTFT in seconds is {@code time / prefill rate}):
 * <pre>
 *   time(e) = (backlog(e) + uncached(e)) · (1 + kv_penalty · kv(e)) + admission(e) + lora(e)
 *   cost(e) = time(e) + recompute_weight · congestion · uncached(e)
 * </pre>
 * <ul>
 *   <li>{@code uncached(e)}: prompt tokens minus the prefix the index believes {@code e} holds; the cache gain
 *       enters here.</li>
 *   <li>{@code backlog(e)}: prefill tokens {@code e} still owes, from the router's own account (exact when the
 *       data plane reports first tokens; otherwise each debt settles at its predicted first token, and the
 *       scrape's waiting count × mean prompt plus what was sent since is a floor).</li>
 *   <li>{@code kv(e)}: KV use, the larger of the scraped value (plus what was sent since) and the KV the router
 *       knows it put there; long decode batches slow every prefill chunk, and a full cache delays admission.</li>
 *   <li>{@code admission(e)}: when {@code e} already queues requests, each waits for a running one to finish:
 *       waiting × (mean service time ÷ running) × prefill rate.</li>
 *   <li>{@code lora(e)}: a LoRA adapter that must be loaded first costs 100 ms of prefill.</li>
 *   <li>{@code congestion}: requests per server still waiting for their first token, averaged over all servers but
 *       the busiest. Prefill work done twice (a prefix computed again elsewhere) is not free for the fleet: it
 *       delays about that many later requests. At low load this term vanishes and the pick minimises the
 *       request's own TTFT; near saturation it makes wasted work expensive, which keeps the cache hit rate (and
 *       so the capacity) up exactly when it matters. Leaving out the busiest server keeps a single hot server,
 *       which the guard exists to relieve, from passing for a busy fleet. It is charged
 *       {@code load_guard.recompute_weight} (6) times over: once for the requests queued now; more because the
 *       copy also takes KV cache from other prefixes and the capacity it burns lengthens the queues the next
 *       requests meet. Chosen from replays (docs/benchmarks.md): 1–2 let a multi-turn workload lose its cache and
 *       collapse just past the knee; 4 and 6 were alike on the acceptance workloads, and a bursty multi-turn
 *       workload (gamma arrivals) halves its p90 with 6.</li>
 * </ul>
 *
 * <p><b>3. The load guard.</b> Only servers whose cost is within {@code load_guard.tolerance} (10 %) of the best
 * (plus one block) stay eligible. A server holding the prompt's prefix therefore keeps winning while its backlog
 * costs less than the prefill it saves (weighted by congestion), and loses as soon as its backlog exceeds that gain:
 * the prefix is then computed once more on the next-best server, which from then on holds it too, so a hot prefix
 * spreads over as many servers as its load needs instead of melting one. Compare llm-d, whose weighted prefix
 * score (3 of 7) outweighs a min-max normalised queue score until the server is saturated, and SGLang's router,
 * which keeps cache affinity until the in-flight counts differ by more than 64 requests and 1.5×, then routes to
 * the shortest queue whatever the cache. The rule here compares the two quantities that decide TTFT, in the same
 * unit, per request. The cost form follows NVIDIA Dynamo's KV router (prefill blocks to compute plus decode load
 * per worker); the congestion weight, the admission term and the band are Sluice's.
 *
 * <p>The <b>balance cap</b> ({@link #BALANCE_SLACK}): a server with more than 1.4 × the mean in flight + 2 takes
 * no new request while another server can, so a hot prefix cannot pile decode load onto its holders.
 *
 * <p><b>4. Scores and pick.</b> Among the eligible, a weighted sum of scores in [0, 1] ({@code scorers}):
 * {@code estimated_ttft} (best cost ÷ cost), {@code prefix} (share of the prompt cached), {@code queue}
 * (waiting, min-max normalised as llm-d does), {@code kv_cache} (1 − KV use; for a prompt no server holds any
 * of, plus the share of it that fits in the prefix cache the index believes free, so it evicts nobody's prefix),
 * {@code lora} (1 resident, ½ free slot, 0 otherwise), {@code session} (1 for the server that served the session
 * last). The highest total wins; ties are broken at random.
 *
 * <p>Each pick is booked at once (prefix index, since-scrape account, prefill owed, session), so the next decision
 * sees it even before the server does.
 */
final class InferenceScheduler extends InferencePolicy {

    /** Assumed cost of loading a LoRA adapter that is not resident, in seconds of prefill. */
    static final double LORA_LOAD_SECONDS = 0.1;
    /**
     * The balance cap: a server with more requests in flight than {@code (1 + BALANCE_SLACK) × the mean +
     * BALANCE_MARGIN} takes no new request while another server can. The cost sees prefill only; decode load does
     * not slow a prefill much but slows every token of every request on the server, so a server that keeps winning
     * on a hot prefix would otherwise pile up running requests (in replay, one system prompt shared by all
     * requests: max/mean load 2.0, end-to-end latency 3.5× round-robin's, less throughput). The slack keeps the
     * time-averaged imbalance under 1.5 while leaving room for affinity; the margin keeps the cap from binding at
     * low load, where a few requests more are harmless. Same idea as SGLang's imbalance threshold (64 requests and
     * 1.5×), with bounds that bind before a server is tens of seconds behind.
     */
    static final double BALANCE_SLACK = 0.4;
    /** See {@link #BALANCE_SLACK}. */
    static final double BALANCE_MARGIN = 2;

    private final int satQueue;
    private final double satKv;
    private final double backlogSeconds;
    private final double tolerance;
    private final double kvPenalty;
    private final double recomputeWeight;
    private final double wTtft;
    private final double wPrefix;
    private final double wQueue;
    private final double wKv;
    private final double wLora;
    private final double wSession;

    InferenceScheduler(FleetState fleet, Supplier<RandomGenerator> random) {
        super(fleet, random);
        InferenceConfig c = fleet.config();
        satQueue = c.saturation().queue();
        satKv = c.saturation().kvCache();
        backlogSeconds = c.saturation().prefillBacklog().toNanos() / 1e9;
        tolerance = c.loadGuard().tolerance();
        kvPenalty = c.loadGuard().kvPenalty();
        recomputeWeight = c.loadGuard().recomputeWeight();
        Map<String, Integer> w = c.scorers();
        wTtft = w.getOrDefault("estimated_ttft", 0);
        wPrefix = w.getOrDefault("prefix", 0);
        wQueue = w.getOrDefault("queue", 0);
        wKv = w.getOrDefault("kv_cache", 0);
        wLora = w.getOrDefault("lora", 0);
        wSession = w.getOrDefault("session", 0);
    }

    @Override
    public String name() {
        return "inference";
    }

    @Override
    Member pick(Candidates c, InferenceRequest r, InferenceExchange x, PickContext ctx, RandomGenerator random) {
        FleetState f = fleet;
        long now = f.clock().nanoTime();
        long waited = x != null ? x.waitedNanos(now) : 0;
        long stale = f.staleAfterNanos();
        int blocks = Math.min(r.blockHashes().length, f.maxBlocks());
        boolean cachedNowhere = c.matchPrefix(f, r.blockHashes(), blocks) == 0;
        double rate = f.prefillRateLocked();
        double backlogLimit = backlogSeconds * rate;
        boolean ledger = f.feedbackActive();
        String adapter = r.adapter().orElse(null);
        int prompt = r.promptTokens();

        // Pass 1: each server's time to first token (and saturation), and the fleet's congestion.
        double owedSum = 0;
        double owedMax = 0;
        int feasible = 0;
        long loadSum = 0;
        double gapBase = f.serviceNanos() / 1e9 * rate;
        for (int i = 0; i < c.size; i++) {
            if (!c.feasible[i]) {
                continue;
            }
            EndpointState s = c.states[i];
            s.expireSentBefore(now - stale);
            s.settleDue(now);
            boolean fresh = s.scrapedAtNanos != Long.MIN_VALUE && now - s.scrapedAtNanos <= stale;
            long capacity = s.kvCapacityTokens;
            int scraped = fresh ? s.scrapedWaiting : 0;
            int waiting = 0;
            double kv = 0;
            if (fresh) {
                waiting = scraped + (scraped > 0 ? s.pendingRequests() : 0);
                kv = s.scrapedKvUsage + (capacity > 0 ? (double) s.pendingTokens() / capacity : 0);
            }
            if (capacity > 0 && s.activeTokens > 0) {
                kv = Math.max(kv, (double) s.activeTokens / capacity);
            }
            kv = Math.min(1, kv);
            c.kv[i] = kv;
            c.waiting[i] = waiting;

            int cached = Math.min(prompt, c.matched[i] * FleetState.BLOCK_TOKENS);
            int uncached = Math.max(1, prompt - cached);
            c.uncached[i] = uncached;
            double backlog = s.owedPrefillTokens;
            double owed = s.owedPrefillRequests;
            if (!ledger) {
                // Self-settled debts, corrected upwards by what the engine reports queued.
                backlog = Math.max(backlog, s.pendingTokens() + scraped * f.avgUncachedTokens());
                owed = Math.max(owed, s.pendingRequests() + scraped);
            }
            // A full KV cache alone is the engine working efficiently; with a queue it is out of room. More prefill
            // than the backlog limit is better held here, where the queue is ordered, than in the engine's FIFO.
            c.saturated[i] = waiting >= satQueue || (waiting > 0 && kv >= satKv) || backlog > backlogLimit;
            double time = (backlog + uncached) * (1 + kvPenalty * kv);
            if (waiting > 0) {
                time += waiting * gapBase / Math.max(1, s.scrapedRunning);
            }
            if (adapter != null && !c.adapterResident(i, adapter)) {
                time += LORA_LOAD_SECONDS * rate;
            }
            c.ttft[i] = time;
            // In flight: the router's own count when the data plane reports ends, else the data plane's.
            int load = ledger ? s.inFlight : c.members[i].load().activeRequests();
            c.inFlight[i] = load;
            loadSum += load;
            owedSum += owed;
            owedMax = Math.max(owedMax, owed);
            feasible++;
        }

        // Congestion: requests per server still waiting for their first token, averaged over every server but the
        // busiest. Extra prefill work delays about that many later requests, so it is charged that many times
        // over, times the recompute weight. Leaving the busiest out keeps one hot server (what the guard must
        // relieve) from passing for a busy fleet.
        double congestion = recomputeWeight * (feasible > 1 ? (owedSum - owedMax) / (feasible - 1) : owedSum);
        // The balance cap: servers far above the mean in flight take no more while others can.
        double cap = feasible == 0 ? 0 : (double) loadSum / feasible * (1 + BALANCE_SLACK) + BALANCE_MARGIN;
        double best = Double.MAX_VALUE;
        double bestCapped = Double.MAX_VALUE;
        int open = 0;
        c.capped = false;
        for (int i = 0; i < c.size; i++) {
            if (c.feasible[i]) {
                double cost = c.ttft[i] + congestion * c.uncached[i];
                c.cost[i] = cost;
                c.overloaded[i] = c.inFlight[i] > cap;
                if (!c.saturated[i]) {
                    open++;
                }
                if (open(c, i)) {
                    best = Math.min(best, cost);
                    if (!c.overloaded[i]) {
                        bestCapped = Math.min(bestCapped, cost);
                    }
                }
            }
        }
        if (open == 0) {
            throw NoEndpointException.of(NoEndpointException.Reason.SATURATED);
        }
        c.capped = bestCapped != Double.MAX_VALUE;
        if (c.capped) {
            best = bestCapped;
        }

        // The load guard: only servers nearly as fast as the fastest may win on affinity. A request with a TTFT
        // objective may instead go to any server predicted to meet it (its own headroom, spent on affinity), as
        // long as one is; see sloBound.
        double limit = best * (1 + tolerance) + FleetState.BLOCK_TOKENS;
        c.sloBound = r.sloTtftMillis() > 0
                ? sloBound(c, Math.max(0, r.sloTtftMillis() * 1e-3 - waited * 1e-9) * rate) : 0;
        int minWaiting = Integer.MAX_VALUE;
        int maxWaiting = Integer.MIN_VALUE;
        for (int i = 0; i < c.size; i++) {
            if (eligible(c, i, limit)) {
                minWaiting = Math.min(minWaiting, c.waiting[i]);
                maxWaiting = Math.max(maxWaiting, c.waiting[i]);
            }
        }
        EndpointState sessionEndpoint = r.session().isPresent() ? f.sessionLocked(r.session().get()) : null;
        int chosen = -1;
        double top = Double.NEGATIVE_INFINITY;
        int ties = 0;
        for (int i = 0; i < c.size; i++) {
            if (!eligible(c, i, limit)) {
                continue;
            }
            double score = wTtft * (best <= 0 ? 1 : best / Math.max(best, c.cost[i]));
            if (blocks > 0) {
                score += wPrefix * Math.min(1.0, (double) c.matched[i] / blocks);
            }
            score += wQueue * (maxWaiting == minWaiting ? 1.0
                    : (double) (maxWaiting - c.waiting[i]) / (maxWaiting - minWaiting));
            score += wKv * (1 - c.kv[i]);
            // Room in the prefix cache, for a prompt no server holds any of: the share of it that fits in what the
            // index believes free there. Placed where it does not fit, it evicts prefixes others reuse. Equal for
            // all when it fits everywhere or nowhere (every cache full, the usual steady state).
            int capacity = cachedNowhere && blocks > 0 ? f.index.capacity(c.states[i].slot) : 0;
            if (capacity > 0) {
                double free = (double) (capacity - f.index.blocks(c.states[i].slot)) * FleetState.BLOCK_TOKENS;
                score += wKv * Math.max(0, Math.min(1, free / c.uncached[i]));
            }
            if (adapter == null || c.adapterResident(i, adapter)) {
                score += wLora;
            } else if (c.adapterSlotFree(i)) {
                score += wLora * 0.5;
            }
            if (sessionEndpoint == c.states[i]) {
                score += wSession;
            }
            if (score > top + 1e-12) {
                top = score;
                chosen = i;
                ties = 1;
            } else if (Math.abs(score - top) <= 1e-12 && random.nextInt(++ties) == 0) {
                chosen = i;
            }
        }

        EndpointState s = c.states[chosen];
        int uncached = c.uncached[chosen];
        int cached = Math.min(prompt, c.matched[chosen] * FleetState.BLOCK_TOKENS);
        f.dispatchLocked(s, r, x, now, cached, uncached, (long) c.ttft[chosen], c.ttft[chosen],
                c.waiting[chosen] > 0);
        return c.members[chosen];
    }

    private static boolean eligible(Candidates c, int i, double limit) {
        if (!c.feasible[i] || !open(c, i)) {
            return false;
        }
        return c.sloBound > 0 ? c.ttft[i] <= c.sloBound : c.cost[i] <= limit;
    }

    /**
     * The TTFT objective as a bound on the predicted time to first token ({@code sloTokens}, in tokens of prefill;
     * 0 for none), or 0 if no open server is predicted to meet it. With a bound, every open server predicted to meet
     * the objective is eligible, whatever its cost against the fastest: the scores (prefix, session, estimated TTFT)
     * then pick among them, so the request keeps its cache and session affinity, and leaves the fastest servers to
     * requests that need them, as long as it stays within its objective (llm-d's SLO scorer, positive headroom with
     * the "least" strategy, does the same packing). If no server can meet it, the load guard's band applies as for
     * any request: the objective is missed anyway, so the fleet's cost decides.
     */
    private static double sloBound(Candidates c, double sloTokens) {
        if (sloTokens <= 0) {
            return 0;
        }
        for (int i = 0; i < c.size; i++) {
            if (c.feasible[i] && open(c, i) && c.ttft[i] <= sloTokens) {
                return sloTokens;
            }
        }
        return 0;
    }

    /**
     * True if a feasible server may take the request: not saturated, or saturated but holding part of the prompt's
     * prefix, in which case its queue (the admission term) is weighed against the cached prefix like any backlog.
     * Setting prefix holders aside as soon as they queue would send every request that must wait onto a server
     * without its prefix: the fleet then computes prefixes again exactly when it has no capacity to spare.
     */
    private static boolean open(Candidates c, int i) {
        return (!c.saturated[i] || c.matched[i] > 0) && !(c.capped && c.overloaded[i]);
    }
}
