package io.sluice.inference;

import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Address;
import io.sluice.time.Clock;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * What the router knows about one pool's model servers: the latest engine-metrics reading of each, its own
 * account of the work it sent each (see {@link EndpointState}), the approximate prefix index, session affinity,
 * and the rates it has learned from responses.
 *
 * <p>One per pool, shared by the pool's successive selectors (snapshots) so nothing is forgotten when membership
 * changes. Readings come in through {@link #publish} from whoever observes the servers: the proxy's scraper (real
 * {@code /metrics} pages parsed by {@link EngineMetricsParser}) or the replay's simulated scrapes. Scheduling
 * decisions, readings and feedback take one lock per pool; a decision holds it for a few microseconds, which also
 * makes each decision see the dispatches of the ones before it (no two concurrent picks herd onto the same
 * endpoint).
 *
 * <p><b>Learned rates.</b> The prefill rate (tokens per second) turns token estimates into seconds; it starts at
 * {@code load_guard.prefill_tokens_per_second} and is refined from measured times to first token of requests that
 * did not wait for admission: rate = Σ predicted work ÷ Σ measured TTFT, with older samples decaying. The mean
 * service time (dispatch to end) estimates how often a full server frees a slot. Both are pool-wide: the endpoints
 * of a pool run the same model on the same kind of hardware.
 */
public final class FleetState {

    /** Tokens per block of the prefix index (the {@link PromptHasher} contract). */
    static final int BLOCK_TOKENS = PromptHasher.TOKENS_PER_BLOCK;
    /** Blocks per prefix-index entry of the {@code inference} policy (see {@link PrefixIndex}). */
    static final int INDEX_STRIDE = 8;
    /** Index capacity per endpoint when neither config nor the engine says. */
    static final int DEFAULT_INDEX_BLOCKS = 32_768;
    private static final int MAX_SESSIONS = 65_536;
    private static final int MIN_RATE_SAMPLES = 16;
    private static final double DECAY = 0.98;

    final Object lock = new Object();
    private final InferenceConfig config;
    private final Clock clock;
    private final long staleAfterNanos;
    private final int configuredCapacity;
    private final int defaultCapacity;
    private final int maxBlocks;
    private final Map<Address, EndpointState> endpoints = new HashMap<>();
    private final BitSet usedSlots = new BitSet();
    final PrefixIndex index;
    private final LinkedHashMap<String, EndpointState> sessions = new LinkedHashMap<>(256, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, EndpointState> eldest) {
            return size() > MAX_SESSIONS;
        }
    };

    private boolean feedback;
    private int generation;
    private double rateWork;
    private double rateTime;
    private int rateSamples;
    private double serviceNanos = 5e9;
    private int serviceSamples;
    private double avgPromptTokens = 1024;
    private double avgUncachedTokens = 1024;
    private long routedPromptTokens;
    private long routedCachedTokens;
    private int[] matchScratch = new int[16];

    private FleetState(InferenceConfig config, Clock clock, int defaultCapacity, int stride) {
        this.index = new PrefixIndex(stride);
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.staleAfterNanos = config.metrics().staleAfter().toNanos();
        this.configuredCapacity = config.prefixIndex().capacityBlocks();
        this.defaultCapacity = defaultCapacity;
        this.maxBlocks = config.prefixIndex().maxBlocks();
    }

    /** A fleet with nothing known yet, indexing every {@link #INDEX_STRIDE}-th block. */
    public static FleetState of(InferenceConfig config, Clock clock) {
        return new FleetState(config, clock, DEFAULT_INDEX_BLOCKS, INDEX_STRIDE);
    }

    /**
     * A fleet whose index falls back to {@code defaultCapacity} blocks per endpoint when nothing else says and
     * records every {@code stride}-th block.
     */
    static FleetState of(InferenceConfig config, Clock clock, int defaultCapacity, int stride) {
        return new FleetState(config, clock, defaultCapacity, stride);
    }

    /** The pool's inference settings. */
    public InferenceConfig config() {
        return config;
    }

    /** The clock decisions are made with. */
    public Clock clock() {
        return clock;
    }

    /**
     * Publishes a reading of an endpoint's engine metrics (from a scrape, or a simulated one). The reading's
     * {@link ServerMetrics#scrapedAtNanos()} must be on this fleet's clock: dispatches made before it are taken to
     * be counted in it.
     */
    public void publish(Address endpoint, ServerMetrics reading) {
        Objects.requireNonNull(reading, "reading");
        synchronized (lock) {
            EndpointState e = endpointLocked(endpoint);
            ServerMetrics previous = e.metrics;
            if (previous != null && reading.scrapedAtNanos() < previous.scrapedAtNanos()) {
                return;   // a slow scrape overtaken by a newer one
            }
            e.published(reading);
            if (configuredCapacity == 0 && reading.kvCacheBlocks() > 0) {
                index.setCapacity(e.slot, capacityFrom(reading));
            }
        }
    }

    /** The latest reading of an endpoint, fresh or not. */
    public Optional<ServerMetrics> metrics(Address endpoint) {
        synchronized (lock) {
            EndpointState e = endpoints.get(endpoint);
            return e == null ? Optional.empty() : Optional.ofNullable(e.metrics);
        }
    }

    /**
     * How many queued requests leave the central queue when a request on an endpoint ends or returns its first
     * token: one. See {@link #releasedByReading}.
     */
    public static final int RELEASED_BY_REQUEST = 1;

    /**
     * How many queued requests a fresh reading of an endpoint lets leave the central queue
     * ({@code FlowController.dispatch(dispatcher, budget)}): as many as its engine queue is below
     * {@code saturation.queue}, 0 if the reading is stale. This pacing is the same in the proxy and the replay.
     * Without it, the first reading that shows a server with an empty queue would release the whole central queue
     * onto it at once (the policies count dispatches since a reading as queued only for servers that already
     * queue), undoing priorities and fair shares; with it, the queue drains at the pace capacity frees, and each
     * release still goes only where the policy finds a server not saturated.
     */
    public int releasedByReading(Address endpoint) {
        synchronized (lock) {
            EndpointState e = endpoints.get(endpoint);
            ServerMetrics m = e == null ? null : e.fresh(clock.nanoTime(), staleAfterNanos);
            return m == null ? 0 : Math.max(0, config.saturation().queue() - m.waiting());
        }
    }

    /** True if the endpoint's latest reading is no older than {@code metrics.stale_after}. */
    public boolean fresh(Address endpoint) {
        synchronized (lock) {
            EndpointState e = endpoints.get(endpoint);
            return e != null && e.fresh(clock.nanoTime(), staleAfterNanos) != null;
        }
    }

    /** LoRA adapters any endpoint reported resident, for model routing. */
    public Set<String> discoveredAdapters() {
        synchronized (lock) {
            Set<String> out = new LinkedHashSet<>();
            for (EndpointState e : endpoints.values()) {
                ServerMetrics m = e.metrics;
                if (m != null) {
                    out.addAll(m.runningAdapters());
                }
            }
            return out;
        }
    }

    /** Share of routed prompt tokens the prefix index expected to be cached where they were sent. */
    public double predictedPrefixHitRatio() {
        synchronized (lock) {
            return routedPromptTokens == 0 ? 0 : (double) routedCachedTokens / routedPromptTokens;
        }
    }

    /** Prompt blocks the index believes an endpoint holds (for diagnostics and tests). */
    public int indexedBlocks(Address endpoint) {
        synchronized (lock) {
            EndpointState e = endpoints.get(endpoint);
            return e == null ? 0 : index.blocks(e.slot);
        }
    }

    /**
     * A request's predicted prefill in seconds, the cost by which the central queue orders requests under
     * {@code flow_control.order: shortest-first}: its prompt less the longest prefix the index believes any
     * endpoint holds, at the current prefill rate. (Where it will run is not known yet; the best case is what the
     * scheduler aims for, and it ranks a long but mostly cached follow-up turn as the short job it is.)
     */
    public double predictedPrefillSeconds(InferenceRequest r) {
        synchronized (lock) {
            long[] hashes = r.blockHashes();
            int blocks = Math.min(hashes.length, maxBlocks);
            int cached = 0;
            if (blocks > 0 && slotLimit() > 0) {
                int slots = slotLimit();
                if (matchScratch.length < slots) {
                    matchScratch = new int[Math.max(slots, 2 * matchScratch.length)];
                }
                cached = Math.min(r.promptTokens(), index.match(hashes, blocks, matchScratch) * BLOCK_TOKENS);
                java.util.Arrays.fill(matchScratch, 0, slots, 0);
            }
            return Math.max(1, r.promptTokens() - cached) / prefillRateLocked();
        }
    }

    /** The current prefill rate estimate in tokens per second. */
    public double prefillTokensPerSecond() {
        synchronized (lock) {
            return prefillRateLocked();
        }
    }

    // ---- package-private: used by schedulers under the lock -------------------------------------------------

    long staleAfterNanos() {
        return staleAfterNanos;
    }

    int maxBlocks() {
        return maxBlocks;
    }

    /** One more than the highest index slot in use. */
    int slotLimit() {
        return usedSlots.length();
    }

    boolean feedbackActive() {
        return feedback;
    }

    double avgPromptTokens() {
        return avgPromptTokens;
    }

    double avgUncachedTokens() {
        return avgUncachedTokens;
    }

    double serviceNanos() {
        return serviceNanos;
    }

    double prefillRateLocked() {
        double configured = config.loadGuard().prefillTokensPerSecond();
        if (rateSamples < MIN_RATE_SAMPLES || rateTime <= 0) {
            return configured;
        }
        return Math.max(1, rateWork / rateTime);
    }

    /** The state of an endpoint, created (with an index slot) on first sight. */
    EndpointState endpointLocked(Address address) {
        EndpointState e = endpoints.get(address);
        if (e == null) {
            int slot = usedSlots.nextClearBit(0);
            usedSlots.set(slot);
            e = new EndpointState(address, slot);
            endpoints.put(address, e);
            index.ensureSlot(slot, configuredCapacity > 0 ? configuredCapacity : defaultCapacity);
        }
        return e;
    }

    /** Forgets endpoints that left the pool (their index slots are reused). */
    void retainLocked(Collection<Address> members) {
        Set<Address> keep = new HashSet<>(members);
        List<Address> gone = new ArrayList<>();
        for (Address a : endpoints.keySet()) {
            if (!keep.contains(a)) {
                gone.add(a);
            }
        }
        for (Address a : gone) {
            EndpointState e = endpoints.remove(a);
            index.removeSlot(e.slot);
            usedSlots.clear(e.slot);
            sessions.values().removeIf(s -> s == e);
        }
        if (!gone.isEmpty()) {
            generation++;
        }
    }

    /**
     * Bumped whenever endpoints are forgotten. A selector built on an older generation may hold states this fleet
     * no longer publishes readings into: a reload that keeps the inference settings shares the fleet, and building
     * it forgets the endpoints it drops, even if the reload is then refused and the old selector stays in force.
     */
    int generationLocked() {
        return generation;
    }

    EndpointState sessionLocked(String session) {
        return sessions.get(session);
    }

    void bindSessionLocked(String session, EndpointState e) {
        sessions.put(session, e);
    }

    /** Books a decision: the index, the endpoint's accounts, the exchange and the running averages. */
    void dispatchLocked(EndpointState e, InferenceRequest r, InferenceExchange x, long nowNanos, int cachedTokens,
                        int uncachedTokens, long workTokens, double costTokens, boolean admissionWait) {
        long[] hashes = r.blockHashes();
        int blocks = Math.min(hashes.length, maxBlocks);
        if (blocks > 0) {
            index.record(e.slot, hashes, blocks);
        }
        e.dispatched(nowNanos, uncachedTokens);
        if (x != null) {
            e.activeTokens += uncachedTokens;
            long estimate = (long) (costTokens / prefillRateLocked() * 1e9);
            x.dispatched(this, e, nowNanos, uncachedTokens, cachedTokens, workTokens, estimate, admissionWait);
            if (!r.stream()) {
                // A response that is not streamed shows its first token only at its end: the prefill debt settles
                // at the predicted first token instead, and the end is no measure of the prefill rate.
                e.settleLater(nowNanos + estimate, uncachedTokens);
                x.prefillSettlesItself(nowNanos + estimate);
            }
        } else {
            // Nobody will report the first token: the debt settles by itself when the first token is predicted.
            e.settleLater(nowNanos + (long) (costTokens / prefillRateLocked() * 1e9), uncachedTokens);
            e.ended(0);
        }
        if (r.session().isPresent()) {
            bindSessionLocked(r.session().get(), e);
        }
        routedPromptTokens += r.promptTokens();
        routedCachedTokens += cachedTokens;
        avgPromptTokens += 0.05 * (r.promptTokens() - avgPromptTokens);
        avgUncachedTokens += 0.05 * (uncachedTokens - avgUncachedTokens);
    }

    void firstToken(InferenceExchange x, long nowNanos) {
        synchronized (lock) {
            feedback = true;
            EndpointState e = x.endpointState();
            if (e != null) {
                e.prefillDone(x.uncachedTokens());
            }
            long ttft = nowNanos - x.dispatchedAtNanos();
            if (!x.admissionWait() && ttft > 0 && x.predictedWorkTokens() > 0) {
                rateWork = rateWork * DECAY + x.predictedWorkTokens();
                rateTime = rateTime * DECAY + ttft / 1e9;
                rateSamples++;
            }
        }
    }

    void finished(InferenceExchange x, long nowNanos, boolean prefillOwed) {
        synchronized (lock) {
            // Ends are reported: the router's own account (in flight, prefill owed) is exact from now on, even
            // when no response is streamed and first tokens are only predicted.
            feedback = true;
            EndpointState e = x.endpointState();
            if (e != null) {
                if (prefillOwed) {
                    e.prefillDone(x.uncachedTokens());
                } else if (x.selfSettleAtNanos() != InferenceExchange.NONE) {
                    // Ended before its predicted first token: the first token came before the end, the debt is paid.
                    e.cancelSettle(x.selfSettleAtNanos(), x.uncachedTokens());
                }
                e.ended(x.uncachedTokens());
            }
            long duration = nowNanos - x.dispatchedAtNanos();
            if (duration > 0) {
                serviceSamples++;
                double alpha = Math.max(0.02, 1.0 / serviceSamples);
                serviceNanos += alpha * (duration - serviceNanos);
            }
        }
    }

    /** Index capacity of an endpoint from its engine's KV size, in 16-token blocks. */
    static int capacityFrom(ServerMetrics m) {
        long tokens = m.kvCacheBlocks() * (m.blockSizeTokens() > 0 ? m.blockSizeTokens() : BLOCK_TOKENS);
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, tokens / BLOCK_TOKENS));
    }

    /** KV capacity of an endpoint in tokens, 0 if unknown. */
    static long kvTokens(ServerMetrics m) {
        return m == null ? 0 : m.kvCacheBlocks() * (m.blockSizeTokens() > 0 ? m.blockSizeTokens() : BLOCK_TOKENS);
    }
}
