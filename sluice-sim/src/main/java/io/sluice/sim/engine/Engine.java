package io.sluice.sim.engine;

import io.sluice.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A GPU-free model of one vLLM server: continuous batching over a paged KV cache with prefix caching, driven one
 * iteration at a time by whoever owns it (the real-time server's engine thread, or the replay's event loop).
 *
 * <p>Each iteration follows vLLM V1's scheduler: running requests first, in admission order, each taking the
 * tokens it still needs (the rest of its prompt, chunked to the token budget, or one decode token); a running
 * request that cannot get a KV block preempts the most recently admitted one (its blocks are freed and it is
 * recomputed later, from the prefix cache where possible); then, if nothing was preempted, waiting requests are
 * admitted first come, first served while {@code max_num_seqs}, the {@code max_num_batched_tokens} budget, the
 * KV cache and the LoRA slots allow. A request's prompt blocks found in the prefix cache are not computed again.
 * The iteration's duration comes from {@link CostModel}.
 *
 * <p>The owner calls {@link #startIteration()} (which plans the batch and returns when it will end), moves its
 * clock to that time, then calls {@link #finishIteration()} (which emits tokens, finishes requests and frees
 * their blocks). With {@code fuseDecodeSteps}, a run of identical decode-only iterations (nothing waiting that
 * could join, nobody finishing) is planned as one step of k iterations, computed exactly but in one call; a new
 * arrival cuts it short with {@link #truncate()}. That is what lets the replay simulate hundreds of thousands of
 * requests per second; the server does not fuse, so its tokens stream one iteration at a time.
 *
 * <p>Not thread-safe: one thread drives an engine.
 */
public final class Engine {

    /**
     * How an engine runs.
     *
     * @param faults          failures to inject
     * @param seed            seed of the engine's random draws (faults)
     * @param fuseDecodeSteps plan runs of identical decode iterations as one step (replay)
     */
    public record Options(Faults faults, long seed, boolean fuseDecodeSteps) {
        /** Checks the fields. */
        public Options {
            Objects.requireNonNull(faults, "faults");
        }
    }

    static final int MAX_FUSED_STEPS = 1 << 16;

    private final Profile profile;
    private final CostModel cost;
    private final KvCache kv;
    private final BlockTable blocks;
    private final LoraSlots loras;
    private final Faults faults;
    private final SplittableRandom random;
    private final Clock clock;
    private final boolean fuse;
    private final long readyNanos;
    private final long loraLoadNanos;
    private final ArrayDeque<EngineRequest> waiting = new ArrayDeque<>();
    private final ArrayList<EngineRequest> running = new ArrayList<>();
    private final ArrayList<EngineRequest> skipped = new ArrayList<>();

    private EngineRequest[] batch = new EngineRequest[64];
    private int[] batchTokens = new int[64];
    private int batchSize;
    private boolean inFlight;
    private boolean fused;
    private long iterStart;
    private long iterEnd;
    private int steps;
    private double stepFixed;
    private double stepKv0;
    private int stepGrowth;
    private double slowdown;
    private long stall;
    private long pendingLoraNanos;
    private int abortsPending;

    private long prefixHitTokens;
    private long prefixQueryTokens;
    private long preemptions;
    private long promptTokensTotal;
    private long generationTokensTotal;
    private long finished;
    private long failedCount;
    private long iterations;
    private long busyNanos;

    private Engine(Profile profile, Options options, Clock clock) {
        this.profile = profile;
        this.cost = new CostModel(profile);
        this.kv = new KvCache(profile.kvBlocks());
        this.blocks = new BlockTable(kv);
        this.loras = new LoraSlots(profile.maxLoras());
        this.faults = options.faults();
        this.random = new SplittableRandom(options.seed());
        this.clock = clock;
        this.fuse = options.fuseDecodeSteps();
        this.readyNanos = clock.nanoTime() + faults.warmup().toNanos();
        this.loraLoadNanos = profile.loraLoadDelay().toNanos();
    }

    /** An engine that starts now (by its clock); it is ready once the faults' warm-up has passed. */
    public static Engine of(Profile profile, Options options, Clock clock) {
        return new Engine(Objects.requireNonNull(profile), Objects.requireNonNull(options),
                Objects.requireNonNull(clock));
    }

    /** The profile. */
    public Profile profile() {
        return profile;
    }

    /** True once warm-up is over. */
    public boolean ready() {
        return clock.nanoTime() >= readyNanos;
    }

    /** When warm-up ends, by the engine's clock. */
    public long readyNanos() {
        return readyNanos;
    }

    /**
     * Accepts a request. It fails at once (through its listener) if the server is warming up, if it is longer than
     * the model allows, or if an injected error strikes; otherwise it waits for the next iteration.
     */
    public void submit(EngineRequest r) {
        if (r.state != EngineRequest.NEW) {
            throw new IllegalStateException("request " + r.id + " was already submitted");
        }
        long now = clock.nanoTime();
        r.arrivalNanos = now;
        if (now < readyNanos) {
            fail(r, Failure.UNAVAILABLE, now);
            return;
        }
        if ((long) r.promptTokens + r.maxTokens > profile.maxModelLen()) {
            fail(r, Failure.TOO_LONG, now);
            return;
        }
        if (faults.errorRate() > 0 && random.nextDouble() < faults.errorRate()) {
            fail(r, Failure.ERROR, now);
            return;
        }
        if (faults.resetRate() > 0 && random.nextDouble() < faults.resetRate()) {
            r.resetAfter = random.nextInt(r.maxTokens);
            if (r.resetAfter == 0) {
                fail(r, Failure.RESET, now);
                return;
            }
        }
        r.adapterId = r.adapter != null && profile.maxLoras() > 0 ? loras.id(r.adapter) : -1;
        r.state = EngineRequest.WAITING;
        promptTokensTotal += r.promptTokens;
        waiting.addLast(r);
    }

    /** Gives up on a request whose client went away; its blocks are freed now or at the end of the iteration. */
    public void abort(EngineRequest r) {
        long now = clock.nanoTime();
        if (r.state == EngineRequest.WAITING) {
            waiting.remove(r);
            fail(r, Failure.ABORTED, now);
        } else if (r.state == EngineRequest.RUNNING) {
            if (inFlight) {
                r.aborted = true;
                abortsPending++;
            } else {
                running.remove(r);
                leaveRunning(r);
                fail(r, Failure.ABORTED, now);
            }
        }
    }

    /** True if requests are running or waiting. */
    public boolean hasWork() {
        return !running.isEmpty() || !waiting.isEmpty();
    }

    /** True while an iteration is planned and not finished. */
    public boolean inFlight() {
        return inFlight;
    }

    /** When the iteration in flight ends, or -1. */
    public long iterationEndNanos() {
        return inFlight ? iterEnd : -1;
    }

    /**
     * Plans the next iteration at the clock's current time.
     *
     * @return when it ends, or -1 if there is nothing to run
     */
    public long startIteration() {
        if (inFlight) {
            throw new IllegalStateException("an iteration is already in flight");
        }
        long now = clock.nanoTime();
        int budget = profile.maxNumBatchedTokens();
        batchSize = 0;
        pendingLoraNanos = 0;
        boolean preempted = false;
        for (int i = 0; i < running.size() && budget > 0; i++) {
            EngineRequest r = running.get(i);
            int n = Math.min(r.tokens - r.computed, budget);
            boolean self = false;
            while (!blocks.ensure(r, r.computed + n)) {
                EngineRequest victim = running.remove(running.size() - 1);
                preempt(victim);
                preempted = true;
                if (victim == r) {
                    self = true;
                    break;
                }
            }
            if (self) {
                break;
            }
            addToBatch(r, n);
            budget -= n;
        }
        boolean admitted = false;
        if (!preempted || batchSize == 0) {
            admitted = admit(now, budget);
        }
        if (batchSize == 0) {
            return -1;
        }
        plan(now, preempted, admitted);
        inFlight = true;
        iterations++;
        return iterEnd;
    }

    private boolean admit(long now, int budget) {
        boolean admitted = false;
        skipped.clear();
        while (!waiting.isEmpty() && running.size() < profile.maxNumSeqs() && budget > 0) {
            EngineRequest r = waiting.pollFirst();
            if (!loras.admissible(r.adapterId)) {
                skipped.add(r);
                if (skipped.size() > profile.maxNumSeqs()) {
                    break;
                }
                continue;
            }
            int hit = 0;
            int evictable = 0;
            long[] hashes = r.blockHashes;
            if (hashes.length > 0) {
                int maxHit = Math.min(hashes.length, (r.tokens - 1) / Profile.BLOCK_TOKENS);
                hit = kv.match(hashes, maxHit);
                evictable = kv.lastEvictable();
            }
            int hitTokens = hit * Profile.BLOCK_TOKENS;
            int n = Math.min(r.tokens - hitTokens, budget);
            int newBlocks = BlockTable.blocksFor(hitTokens + n) - hit;
            if (newBlocks + evictable > kv.freeBlocks()) {
                waiting.addFirst(r);
                break;
            }
            if (hit > 0) {
                if (r.slots == null) {
                    r.slots = new int[hashes.length];
                }
                kv.acquire(hashes, hit, r.slots);
                r.heldHashed = hit;
                r.computed = hitTokens;
            }
            prefixQueryTokens += r.tokens;
            prefixHitTokens += hitTokens;
            if (r.firstScheduledNanos < 0) {
                r.firstScheduledNanos = now;
                r.cachedTokens = hitTokens;
            }
            if (!blocks.ensure(r, r.computed + n)) {
                throw new IllegalStateException("KV accounting error admitting request " + r.id);
            }
            if (loras.start(r.adapterId)) {
                pendingLoraNanos += loraLoadNanos;
            }
            r.state = EngineRequest.RUNNING;
            running.add(r);
            addToBatch(r, n);
            budget -= n;
            admitted = true;
        }
        for (int i = skipped.size() - 1; i >= 0; i--) {
            waiting.addFirst(skipped.get(i));
        }
        return admitted;
    }

    private void plan(long now, boolean preempted, boolean admitted) {
        long tokens = 0;
        int samples = 0;
        double pairs = 0;
        double kvRead = 0;
        boolean allDecode = true;
        for (int i = 0; i < batchSize; i++) {
            EngineRequest r = batch[i];
            int n = batchTokens[i];
            long c = r.computed;
            tokens += n;
            pairs += (double) n * c + (double) n * (n + 1) / 2;
            kvRead += c + n;
            if (c + n == r.tokens) {
                samples++;
            }
            if (n != 1 || c + 1 != r.tokens) {
                allDecode = false;
            }
        }
        slowdown = coldSlowdown(now);
        iterStart = now;
        fused = false;
        steps = 1;
        double duration;
        if (fuse && allDecode && !preempted && !admitted && batchSize == running.size()) {
            int k = blocks.fusableSteps(batch, batchSize, MAX_FUSED_STEPS);
            if (k > 1) {
                fused = true;
                steps = k;
                stepFixed = cost.fixedNanos(batchSize, batchSize);
                stepKv0 = kvRead;
                stepGrowth = batchSize;
                blocks.allocateFused(batch, batchSize, k);
            }
        }
        if (fused) {
            duration = fusedNanos(steps);
        } else {
            duration = cost.iterationNanos(tokens, samples, pairs, kvRead) * slowdown;
        }
        long stallNanos = pendingLoraNanos;
        if (faults.stallRate() > 0) {
            double p = -Math.expm1(-faults.stallRate() * duration / 1e9);
            if (random.nextDouble() < p) {
                stallNanos += faults.stall().toNanos();
            }
        }
        stall = stallNanos;
        iterEnd = now + stallNanos + Math.max(1, Math.round(duration));
    }

    /**
     * Time of the first {@code k} fused decode steps. Step j reads {@code kv0 + j·B} KV entries, so the sum is
     * {@code k·fixed + c·(k·kv0 + B·k(k−1)/2)} in closed form.
     */
    private double fusedNanos(long k) {
        double c = cost.decodeNanosPerContextToken();
        return slowdown * (k * stepFixed + c * (k * stepKv0 + stepGrowth * (k * (k - 1) / 2.0)));
    }

    private double coldSlowdown(long now) {
        long cold = faults.cold().toNanos();
        if (faults.coldFactor() <= 1 || cold <= 0) {
            return 1;
        }
        double left = 1 - (double) (now - readyNanos) / cold;
        return left <= 0 ? 1 : 1 + (faults.coldFactor() - 1) * Math.min(1, left);
    }

    /**
     * Cuts a fused step short at the first iteration boundary at or after the clock's current time, so that a
     * request that just arrived joins the batch when it would have in the real engine.
     *
     * @return the (possibly earlier) end of the iteration in flight
     */
    public long truncate() {
        if (!inFlight || !fused) {
            return iterationEndNanos();
        }
        long now = clock.nanoTime();
        double target = now - iterStart - stall;
        if (target <= 0) {
            steps = 1;
        } else {
            // Smallest k with fusedNanos(k) >= target: solve the quadratic, then settle the rounding exactly.
            double c = cost.decodeNanosPerContextToken() * slowdown;
            double a = c * stepGrowth / 2;
            double b = slowdown * stepFixed + c * stepKv0 - a;
            double k = a > 0 ? (-b + Math.sqrt(b * b + 4 * a * target)) / (2 * a) : target / b;
            long guess = Math.max(1, Math.min(steps, (long) Math.ceil(k)));
            while (guess > 1 && fusedNanos(guess - 1) >= target) {
                guess--;
            }
            while (guess < steps && fusedNanos(guess) < target) {
                guess++;
            }
            steps = (int) guess;
        }
        iterEnd = iterStart + stall + Math.max(1, Math.round(fusedNanos(steps)));
        return iterEnd;
    }

    /** Applies the iteration in flight at the clock's current time: tokens, completions, freed blocks. */
    public void finishIteration() {
        if (!inFlight) {
            throw new IllegalStateException("no iteration in flight");
        }
        inFlight = false;
        long now = clock.nanoTime();
        busyNanos += iterEnd - iterStart;
        boolean removals = false;
        for (int i = 0; i < batchSize; i++) {
            EngineRequest r = batch[i];
            batch[i] = null;
            if (r.state != EngineRequest.RUNNING) {
                continue;
            }
            if (r.aborted) {
                removals = true;
                continue;
            }
            int produced;
            if (fused) {
                r.computed += steps;
                r.tokens += steps;
                r.generated += steps;
                produced = steps;
                int excess = r.heldHashed + r.privateBlocks - BlockTable.blocksFor(r.computed + 1);
                if (excess > 0) {
                    r.privateBlocks -= excess;
                    kv.releasePrivate(excess);
                }
            } else {
                r.computed += batchTokens[i];
                produced = 0;
                if (r.computed == r.tokens) {
                    r.tokens++;
                    r.generated++;
                    produced = 1;
                }
            }
            if (produced == 0) {
                continue;
            }
            generationTokensTotal += produced;
            if (r.generated == produced) {
                r.firstTokenNanos = now;
            }
            r.listener.onTokens(r, produced, now);
            if (r.state != EngineRequest.RUNNING) {
                removals = true;
            } else if (r.generated >= r.maxTokens) {
                if (r.sequenceHashes.length > r.blockHashes.length) {
                    blocks.cacheComputed(r);   // the answer stays cached for a next turn that repeats it
                }
                leaveRunning(r);
                r.state = EngineRequest.DONE;
                r.finishNanos = now;
                finished++;
                removals = true;
                r.listener.onFinished(r, now);
            } else if (r.resetAfter > 0 && r.generated >= r.resetAfter) {
                leaveRunning(r);
                fail(r, Failure.RESET, now);
                removals = true;
            }
        }
        if (abortsPending > 0) {
            abortsPending = 0;
            for (int i = running.size() - 1; i >= 0; i--) {
                EngineRequest r = running.get(i);
                if (r.state == EngineRequest.RUNNING && r.aborted) {
                    leaveRunning(r);
                    fail(r, Failure.ABORTED, now);
                    removals = true;
                }
            }
        }
        if (removals) {
            running.removeIf(r -> r.state != EngineRequest.RUNNING);
        }
        batchSize = 0;
    }

    private void addToBatch(EngineRequest r, int n) {
        if (batchSize == batch.length) {
            batch = Arrays.copyOf(batch, batchSize * 2);
            batchTokens = Arrays.copyOf(batchTokens, batchSize * 2);
        }
        batch[batchSize] = r;
        batchTokens[batchSize] = n;
        batchSize++;
    }

    private void preempt(EngineRequest r) {
        blocks.cacheComputed(r);
        leaveRunning(r);
        r.computed = 0;
        r.state = EngineRequest.WAITING;
        r.preemptions++;
        preemptions++;
        waiting.addFirst(r);
    }

    /** Frees a request's blocks, last block first, and its LoRA slot use. */
    private void leaveRunning(EngineRequest r) {
        blocks.release(r);
        loras.stop(r.adapterId);
    }

    private void fail(EngineRequest r, Failure failure, long now) {
        r.state = EngineRequest.DONE;
        r.finishNanos = now;
        failedCount++;
        r.listener.onFailed(r, failure, now);
    }

    /** Requests in the running batch. */
    public int running() {
        return running.size();
    }

    /** Requests waiting to join the batch. */
    public int waiting() {
        return waiting.size();
    }

    /** Fraction of KV blocks in use (cached free blocks count as free, as in vLLM). */
    public double kvUsage() {
        return (double) kv.usedBlocks() / kv.totalBlocks();
    }

    /** KV blocks in use. */
    public int usedBlocks() {
        return kv.usedBlocks();
    }

    /** KV blocks that an allocation can take. */
    public int freeBlocks() {
        return kv.freeBlocks();
    }

    /** Blocks registered in the prefix cache. */
    public int cachedBlocks() {
        return kv.cachedBlocks();
    }

    /**
     * Prompt tokens of a prompt's leading full blocks this engine's prefix cache holds now, without touching the
     * cache (no reference, no LRU move): what a router that saw every cache could expect this engine to reuse.
     */
    public int cachedPrefixTokens(long[] blockHashes) {
        return kv.peek(blockHashes, blockHashes.length) * Profile.BLOCK_TOKENS;
    }

    /**
     * The time to first token of a request alone on an idle server of this engine's profile, {@code cachedTokens}
     * of its {@code promptTokens} found in the prefix cache: its prefill in chunks of {@code max_num_batched_tokens},
     * each iteration priced by the cost model with no other request in the batch, no wait and no warm-up. No
     * router can do better for that request with that prefix; with the longest prefix any server holds, it is the
     * request's floor. As in admission, a cache hit covers whole blocks and never the prompt's last token, and each
     * iteration lasts a whole number of nanoseconds.
     */
    public long soloFirstTokenNanos(int cachedTokens, int promptTokens) {
        int maxHit = (promptTokens - 1) / Profile.BLOCK_TOKENS * Profile.BLOCK_TOKENS;
        long computed = Math.max(0, Math.min(cachedTokens / Profile.BLOCK_TOKENS * Profile.BLOCK_TOKENS, maxHit));
        int budget = profile.maxNumBatchedTokens();
        long nanos = 0;
        while (computed < promptTokens) {
            int n = (int) Math.min(budget, promptTokens - computed);
            double pairs = (double) n * computed + (double) n * (n + 1) / 2;
            boolean last = computed + n == promptTokens;
            nanos += Math.max(1, Math.round(cost.iterationNanos(n, last ? 1 : 0, pairs, computed + n)));
            computed += n;
        }
        return nanos;
    }

    /** Prompt tokens found in the prefix cache, over every admission. */
    public long prefixHitTokens() {
        return prefixHitTokens;
    }

    /** Prompt tokens looked up in the prefix cache, over every admission. */
    public long prefixQueryTokens() {
        return prefixQueryTokens;
    }

    /** Preemptions so far. */
    public long preemptions() {
        return preemptions;
    }

    /** Prompt tokens accepted so far. */
    public long promptTokens() {
        return promptTokensTotal;
    }

    /** Output tokens produced so far. */
    public long generationTokens() {
        return generationTokensTotal;
    }

    /** Requests finished so far. */
    public long finishedRequests() {
        return finished;
    }

    /** Requests failed so far. */
    public long failedRequests() {
        return failedCount;
    }

    /** Iterations (fused steps count once) so far. */
    public long iterations() {
        return iterations;
    }

    /** Time spent in iterations so far. */
    public long busyNanos() {
        return busyNanos;
    }

    /** LoRA adapters loaded so far. */
    public long loraLoads() {
        return loras.loads();
    }

    /** Adapters used by running requests. */
    public List<String> runningAdapters() {
        return loras.runningAdapters();
    }

    /** Adapters wanted by waiting requests. */
    public Set<String> waitingAdapters() {
        Set<String> out = new LinkedHashSet<>();
        for (EngineRequest r : waiting) {
            if (r.adapterId >= 0) {
                out.add(r.adapter);
            }
        }
        return out;
    }

    /** Adapters resident on the GPU, least recently used first. */
    public List<String> residentAdapters() {
        return loras.residentAdapters();
    }
}
