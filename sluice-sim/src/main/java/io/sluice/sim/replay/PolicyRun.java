package io.sluice.sim.replay;

import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.endpoint.EndpointSet;
import io.sluice.config.InferenceConfig;
import io.sluice.inference.FleetState;
import io.sluice.inference.InferencePolicies;
import io.sluice.inference.FlowController;
import io.sluice.inference.InferenceExchange;
import io.sluice.inference.InferenceRequest;
import io.sluice.inference.ServerMetrics;
import io.sluice.sim.engine.Engine;
import io.sluice.sim.engine.EngineListener;
import io.sluice.sim.engine.EngineRequest;
import io.sluice.sim.engine.Failure;
import io.sluice.sim.engine.Profile;
import io.sluice.sim.trace.RequestStream;
import io.sluice.sim.trace.TraceRequest;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import net.openhft.hashing.LongHashFunction;
import org.HdrHistogram.Histogram;

/**
 * One policy replayed over one workload: a discrete-event simulation in virtual time.
 *
 * <p>Events are request arrivals (streamed from the workload), engine iteration ends (an indexed heap of one
 * entry per engine), metric scrapes and their delayed deliveries, and the end of warm-up. At equal times,
 * arrivals come first, so requests that arrive together can join the same first iteration. Every arrival asks
 * the pool's selector, built by the same {@code Balancers} the proxy uses, for an endpoint, with the request's
 * {@link InferenceRequest} attached to the {@link PickContext}; the chosen member's {@link LoadStats} are fed as the
 * proxy feeds them: {@code requestStarted} on dispatch, {@code requestEnded} and {@code recordLatency} (end-to-end)
 * on completion, {@code failure} on failure. The engines are {@link Engine}s with fused decode steps; an arrival
 * cuts the target engine's step short at the next iteration boundary.
 */
final class PolicyRun implements EngineListener {

    private static final class Flight {
        final int endpoint;
        final long arrival;
        final long sloNanos;
        final InferenceExchange exchange;
        final long dispatched;
        /** With a request log: the longest prefix any engine held at dispatch, in tokens. */
        final int bestCached;

        Flight(int endpoint, long arrival, long sloNanos, InferenceExchange exchange, long dispatched,
               int bestCached) {
            this.endpoint = endpoint;
            this.arrival = arrival;
            this.sloNanos = sloNanos;
            this.exchange = exchange;
            this.dispatched = dispatched;
            this.bestCached = bestCached;
        }
    }

    /** A request between its arrival and its dispatch (at once, or after waiting in the central queue). */
    private static final class Pending {
        final long id;
        final TraceRequest request;
        final InferenceRequest features;
        final InferenceExchange exchange;
        final long arrival;
        /** The hashes of prompt and answer when the workload gives ids for the answer, else null. */
        final long[] sequence;

        Pending(long id, TraceRequest request, InferenceRequest features, InferenceExchange exchange, long arrival,
                long[] sequence) {
            this.id = id;
            this.request = request;
            this.features = features;
            this.exchange = exchange;
            this.arrival = arrival;
            this.sequence = sequence;
        }
    }

    private record Delivery(long at, int endpoint, ServerMetrics metrics) {
    }

    private final String policy;
    private final ReplayConfig config;
    private final Supplier<RequestStream> source;
    private final AtomicLong progress;
    private final AtomicLong virtualNanos;
    private final ManualClock clock = ManualClock.start();
    private final Engine[] engines;
    /** One engine per distinct profile of the fleet: where a request's floor TTFT is priced. */
    private final List<Engine> profileEngines = new ArrayList<>();
    private final Member[] members;
    private final Pool pool;
    private final MetricsSink sink;
    private final EngineQueue queue;
    private final PickContext ctx = new PickContext();
    private final ArrayDeque<Delivery> deliveries = new ArrayDeque<>();
    private final LoadSeries series;
    private final long[] endpointRequests;
    private final String defaultModel;
    private final Histogram ttft = new Histogram(3);
    private final Histogram e2e = new Histogram(3);
    private final Histogram queueTime = new Histogram(3);
    private final Histogram spikeTtft = new Histogram(3);
    private final long spikeStart;
    private final long spikeEnd;
    private final Map<String, Long> failures = new TreeMap<>();
    private final long sloNanos;
    private final FleetState fleet;
    private final FlowController<Pending> flow;
    private final FlowController.Dispatcher<Pending> dispatcher = this::tryDispatch;
    /** One row per request, or null without {@code --requests} (then nothing is computed for it). */
    private RequestLog log;
    /** Queued requests the events since the last dispatch let leave (the proxy's pacing, see FleetState). */
    private int released;
    private long queued;
    private long requests;
    private long completed;
    private long shed;
    private long outputTokens;
    private long sloMet;
    private long firstArrival = -1;
    private long lastEvent;

    PolicyRun(String policy, ReplayConfig config, Supplier<RequestStream> source, AtomicLong progress,
              AtomicLong virtualNanos) {
        this.policy = policy;
        this.config = config;
        this.source = source;
        this.progress = progress;
        this.virtualNanos = virtualNanos;
        this.sloNanos = config.sloTtft().toNanos();
        this.spikeStart = config.spike().map(s -> s.start().toNanos()).orElse(Long.MAX_VALUE);
        this.spikeEnd = config.spike().map(s -> s.start().plus(s.duration()).toNanos()).orElse(Long.MIN_VALUE);
        List<Profile> servers = config.fleet().servers();
        int n = servers.size();
        PoolConfig poolConfig = poolConfig(policy, servers, config.poolSettings());
        SplittableRandom random = new SplittableRandom(config.seed());
        RandomGenerator policyRandom = random.split();
        Supplier<RandomGenerator> randoms = () -> policyRandom;
        RoutingFactory.Routing routing = config.routing().create(poolConfig, randoms, clock);
        this.sink = routing.sink();
        this.fleet = routing.fleet().orElse(null);
        InferenceConfig inference = poolConfig.inference().orElseGet(InferenceConfig::defaults);
        this.flow = fleet == null ? null
                : FlowController.of("replay", InferencePolicies.flowControlFor(policy, inference.flowControl()), clock,
                        this::refused);
        boolean warmup = !config.faults().warmup().isZero();
        this.pool = Pool.of("replay", routing.balancer(), EndpointSet.Options.DEFAULT, clock, warmup,
                poolConfig.endpoints(), Optional.empty());
        this.members = pool.members().toArray(new Member[0]);
        this.engines = new Engine[n];
        for (int i = 0; i < n; i++) {
            engines[i] = Engine.of(servers.get(i), new Engine.Options(config.faults(), random.nextLong(), true),
                    clock);
            Profile profile = engines[i].profile();
            if (profileEngines.stream().noneMatch(e -> e.profile().equals(profile))) {
                profileEngines.add(engines[i]);
            }
        }
        this.queue = new EngineQueue(n);
        this.series = new LoadSeries(n);
        this.endpointRequests = new long[n];
        this.defaultModel = servers.get(0).model().servedName();
    }

    /**
     * The pool as the proxy would read it from YAML, so every policy gets its documented defaults, with the
     * settings' {@code inference:} block if the policy takes one.
     *
     * @throws IllegalArgumentException if the policy is unknown or the settings are wrong (naming path and value)
     */
    static PoolConfig poolConfig(String policy, List<Profile> servers, PoolSettings settings) {
        try {
            return readPool(policy, servers, settings);
        } catch (ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /**
     * Reads the pool config of a policy.
     *
     * @throws ConfigException for a mistake in the settings, named by the settings' source and the path under the
     *                         pool ({@code inference.saturation.kv_cache: 1.5 is out of range (0.05-1)})
     */
    static PoolConfig readPool(String policy, List<Profile> servers, PoolSettings settings) throws ConfigException {
        StringBuilder yaml = new StringBuilder("listeners: []\npools:\n  - name: replay\n    policy: ")
                .append(policy).append("\n    endpoints:\n");
        for (int i = 0; i < servers.size(); i++) {
            yaml.append("      - { address: \"10.").append(i >> 16 & 255).append('.').append(i >> 8 & 255)
                    .append('.').append(i & 255).append(":8000\", models: [\"")
                    .append(servers.get(i).model().servedName()).append("\"], labels: { profile: ")
                    .append(servers.get(i).name()).append(" } }\n");
        }
        if (servers.isEmpty()) {
            yaml.append("      []\n");
        }
        Optional<String> inference = settings.appliesTo(policy) ? settings.inferenceFlow() : Optional.empty();
        inference.ifPresent(block -> yaml.append("    inference: ").append(block).append('\n'));
        try {
            return SluiceConfig.parse(yaml.toString(), "replay", Path.of(".")).pools().get(0);
        } catch (ConfigException e) {
            String under = "pools[0].inference";
            List<ConfigError> settingsErrors = e.errors().stream().filter(x -> inference.isPresent()
                    && (x.path().equals(under) || x.path().startsWith(under + ".") || x.path().startsWith(under
                    + "["))).map(x -> new ConfigError(x.path().substring("pools[0].".length()), x.message())).toList();
            if (settingsErrors.size() < e.errors().size()) {
                throw new IllegalArgumentException("policy '" + policy + "': " + e.getMessage(), e);
            }
            throw new ConfigException(settings.source(), settingsErrors);
        }
    }

    PolicyResult run() {
        long wallStart = System.nanoTime();
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long cpuStart = threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : -1;
        long scrapeEvery = config.scrapeInterval().toNanos();
        long scrapeDelay = config.scrapeDelay().toNanos();
        boolean scraping = sink != MetricsSink.NONE;
        long nextScrape = scraping ? 0 : Long.MAX_VALUE;
        long readyAt = config.faults().warmup().isZero() ? Long.MAX_VALUE : config.faults().warmup().toNanos();
        log = config.requestLog().map(dir -> RequestLog.open(dir, policy)).orElse(null);
        try (RequestLog closing = log; RequestStream stream = source.get()) {
            TraceRequest ahead = stream.hasNext() ? stream.next() : null;
            while (true) {
                long tArrival = ahead != null ? ahead.arrivalNanos() : Long.MAX_VALUE;
                long tEngine = queue.peekTime();
                long tDelivery = deliveries.isEmpty() ? Long.MAX_VALUE : deliveries.peekFirst().at();
                boolean waiting = flow != null && flow.size() > 0;
                boolean active = ahead != null || !queue.isEmpty() || waiting;
                long tScrape = active ? nextScrape : Long.MAX_VALUE;
                long tExpire = waiting ? flow.nextDeadlineNanos() : Long.MAX_VALUE;
                long t = Math.min(Math.min(tArrival, tEngine), Math.min(Math.min(tDelivery, tScrape), readyAt));
                t = Math.min(t, tExpire);
                if (t == Long.MAX_VALUE) {
                    break;
                }
                clock.setNanos(Math.max(t, clock.nanoTime()));
                if (t == tExpire) {
                    flow.expire();
                } else if (t == readyAt) {
                    readyAt = Long.MAX_VALUE;
                    for (Member m : members) {
                        m.setCheckPassing(true, t);
                    }
                    pool.rebuild();
                } else if (t == tArrival) {
                    arrive(ahead);
                    ahead = stream.hasNext() ? stream.next() : null;
                } else if (t == tEngine) {
                    step(queue.peek());
                } else if (t == tDelivery) {
                    Delivery d = deliveries.pollFirst();
                    sink.publish(members[d.endpoint()], d.metrics());
                    if (fleet != null) {
                        released += fleet.releasedByReading(members[d.endpoint()].address());
                    }
                } else {
                    scrape(t, scrapeDelay);
                    nextScrape = t + scrapeEvery;
                }
                if (released > 0) {
                    // A request ended or got its first token, or a reading arrived: queued requests may fit now,
                    // paced as the proxy paces them.
                    if (flow.size() > 0) {
                        flow.dispatch(dispatcher, released);
                    }
                    released = 0;
                }
            }
            series.finish(lastEvent);
            long span = firstArrival < 0 ? 0 : lastEvent - firstArrival;
            List<Double> loads = new ArrayList<>();
            List<Long> perEndpoint = new ArrayList<>();
            long hits = 0;
            long queries = 0;
            long preemptions = 0;
            for (int i = 0; i < engines.length; i++) {
                loads.add(series.mean(i, span));
                perEndpoint.add(endpointRequests[i]);
                hits += engines[i].prefixHitTokens();
                queries += engines[i].prefixQueryTokens();
                preemptions += engines[i].preemptions();
            }
            if (stream.skipped() > 0) {
                failures.put("skipped_lines", stream.skipped());
            }
            return new PolicyResult(policy, requests, completed, shed, queued,
                    Map.copyOf(failures), outputTokens, span,
                    ttft, e2e, queueTime, sloMet, hits, queries, preemptions, loads, perEndpoint, series,
                    System.nanoTime() - wallStart, cpuStart < 0 ? 0 : threads.getCurrentThreadCpuTime() - cpuStart,
                    spikeTtft);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write the request log of " + policy + ": "
                    + e.getMessage(), e);
        }
    }

    private void arrive(TraceRequest r) {
        long now = clock.nanoTime();
        if (firstArrival < 0) {
            firstArrival = now;
        }
        requests++;
        if ((requests & 1023) == 0) {
            progress.addAndGet(1024);
            virtualNanos.set(now);
        }
        // The answer's hashes, when the workload gives them, continue the prompt's chain: hashed once, the prompt's
        // part goes to the router, the whole to the engine (which keeps the answer cached for a next turn).
        long[] sequence = r.answerIds() ? r.sequenceHashes() : null;
        int promptBlocks = r.promptTokens() / Profile.BLOCK_TOKENS;
        long[] prompt = sequence == null ? r.blockHashes()
                : sequence.length > promptBlocks ? Arrays.copyOf(sequence, promptBlocks) : sequence;
        InferenceRequest features = new InferenceRequest(r.model().orElse(defaultModel), r.adapter(), prompt,
                r.promptTokens(), r.outputTokens(), r.session(), r.priority(), r.tenant(), r.sloTtftMillis(), true);
        if (flow == null) {
            Pending p = new Pending(requests, r, features, null, now, sequence);
            try {
                send(p, select(p));
            } catch (NoEndpointException e) {
                refuse(p, now);
            }
            return;
        }
        // As the proxy: the exchange carries first-token and end feedback; saturated requests wait centrally.
        Pending p = new Pending(requests, r, features, InferenceExchange.of(features), now, sequence);
        FlowController.Outcome o = flow.submit(p, r.priority(), r.tenant(),
                () -> fleet.predictedPrefillSeconds(features), dispatcher);
        switch (o) {
            case QUEUED -> queued++;
            case SHED_SHEDDABLE -> refusedAtArrival(p, "sheddable_429", now);
            case REJECTED_FULL -> refusedAtArrival(p, "queue_full_503", now);
            case DISPATCHED -> { }
        }
    }

    private Member select(Pending p) {
        ctx.reset().attach(p.exchange != null ? p.exchange : p.features);
        p.request.session().ifPresent(s -> ctx.hash(LongHashFunction.xx3().hashChars(s)));
        return pool.select(ctx);
    }

    /** The central queue's dispatcher: false while every endpoint is saturated for the request. */
    private boolean tryDispatch(Pending p) {
        Member member;
        try {
            member = select(p);
        } catch (NoEndpointException e) {
            if (e.reason() == NoEndpointException.Reason.SATURATED) {
                return false;
            }
            refuse(p, clock.nanoTime());
            return true;
        }
        send(p, member);
        return true;
    }

    /** A request no endpoint can take (not served, none healthy): shed. */
    private void refuse(Pending p, long now) {
        shed++;
        lastEvent = Math.max(lastEvent, now);
        if (log != null) {
            logUnsent(p, "shed", now);
        }
    }

    /** The central queue refused a request as it arrived (sheddable under saturation, or full). */
    private void refusedAtArrival(Pending p, String outcome, long now) {
        failures.merge(outcome, 1L, Long::sum);
        lastEvent = Math.max(lastEvent, now);
        if (log != null) {
            logUnsent(p, outcome, now);
        }
    }

    /** A queued request left the queue unserved: a time-out is answered 429, a displacement 503. */
    private void refused(Pending p, FlowController.ShedReason reason, long retryAfterSeconds) {
        String outcome = reason == FlowController.ShedReason.TIMEOUT ? "queue_timeout_429" : "displaced_503";
        failures.merge(outcome, 1L, Long::sum);
        long now = clock.nanoTime();
        lastEvent = Math.max(lastEvent, now);
        if (log != null) {
            logUnsent(p, outcome, now);
        }
    }

    private void logUnsent(Pending p, String outcome, long now) {
        log.row(p.id, p.arrival, RequestLog.NONE, p.request.promptTokens(), RequestLog.NONE, RequestLog.NONE, 0,
                RequestLog.NONE, RequestLog.NONE, RequestLog.NONE, now, outcome, RequestLog.NONE);
    }

    /** A finished or failed request's row; its best prefix is at least what it got from its engine's cache. */
    private void logSent(EngineRequest r, Flight f, long now, String outcome) {
        boolean scheduled = r.firstScheduledNanos() >= 0;
        long cached = scheduled ? r.cachedTokens() : RequestLog.NONE;
        int best = (int) Math.max(f.bestCached, cached);
        log.row(r.id(), f.arrival, f.endpoint, r.promptTokens(), cached, best,
                r.generated(), f.dispatched, scheduled ? r.firstScheduledNanos() : RequestLog.NONE,
                r.firstTokenNanos() >= 0 ? r.firstTokenNanos() : RequestLog.NONE, now, outcome,
                floorTtft(engines[f.endpoint], best, r.promptTokens(), r.maxTokens()));
    }

    /**
     * A request's TTFT alone with its best prefix on an idle server of the fastest profile that could have served
     * it: same model as the server it went to, and room for it in {@code max_model_len}.
     */
    private long floorTtft(Engine servedBy, int bestCached, int promptTokens, int outputTokens) {
        long floor = servedBy.soloFirstTokenNanos(bestCached, promptTokens);
        for (Engine e : profileEngines) {
            if (servesLike(e, servedBy, promptTokens + outputTokens)) {
                floor = Math.min(floor, e.soloFirstTokenNanos(bestCached, promptTokens));
            }
        }
        return floor;
    }

    /** True if {@code e} serves the model {@code like} serves and fits a sequence of {@code tokens}. */
    private static boolean servesLike(Engine e, Engine like, int tokens) {
        return e.profile().model().equals(like.profile().model()) && tokens <= e.profile().maxModelLen();
    }

    /**
     * The longest prefix of a prompt, in tokens, that any engine serving the same model as {@code servedBy} holds
     * now (an oracle's view).
     */
    private int bestCached(Engine servedBy, long[] hashes, int promptTokens) {
        long[] full = hashes.length > promptTokens / Profile.BLOCK_TOKENS
                ? Arrays.copyOf(hashes, promptTokens / Profile.BLOCK_TOKENS) : hashes;
        int best = 0;
        for (Engine e : engines) {
            if (e.profile().model().equals(servedBy.profile().model())) {
                best = Math.max(best, e.cachedPrefixTokens(full));
            }
        }
        return best;
    }

    private void send(Pending p, Member member) {
        long now = clock.nanoTime();
        TraceRequest r = p.request;
        int i = member.id();
        endpointRequests[i]++;
        LoadStats load = member.load();
        load.requestStarted();
        series.set(i, now, load.activeRequests());
        long slo = r.sloTtftMillis() > 0 ? r.sloTtftMillis() * 1_000_000L : sloNanos;
        int best = log == null ? 0 : bestCached(engines[i], p.features.blockHashes(), r.promptTokens());
        EngineRequest er = EngineRequest.of(p.id, r.promptTokens(), r.outputTokens(), p.features.blockHashes(),
                r.adapter(), this).attach(new Flight(i, p.arrival, slo, p.exchange, now, best));
        if (p.sequence != null) {
            er.withSequenceHashes(p.sequence);   // the answer stays cached for a next turn that repeats it
        }
        Engine engine = engines[i];
        engine.submit(er);
        if (engine.inFlight()) {
            queue.set(i, engine.truncate());
        } else if (engine.hasWork() && !queue.contains(i)) {
            queue.set(i, now);
        }
    }

    private void step(int i) {
        Engine engine = engines[i];
        if (engine.inFlight()) {
            engine.finishIteration();
        }
        long end = engine.hasWork() ? engine.startIteration() : -1;
        if (end >= 0) {
            queue.set(i, end);
        } else {
            queue.remove(i);
        }
    }

    private void scrape(long now, long delay) {
        for (int i = 0; i < engines.length; i++) {
            Engine e = engines[i];
            Profile p = e.profile();
            // Stamped when read: dispatches after this instant are not in it, and the router counts them.
            ServerMetrics m = new ServerMetrics(e.waiting(), e.running(), e.kvUsage(), p.kvBlocks(),
                    Profile.BLOCK_TOKENS, new HashSet<>(e.runningAdapters()), p.maxLoras(), now);
            deliveries.addLast(new Delivery(now + delay, i, m));
        }
    }

    @Override
    public void onTokens(EngineRequest r, int newTokens, long nowNanos) {
        if (r.generated() != newTokens) {
            return;
        }
        Flight f = (Flight) r.attachment();
        if (f.exchange != null) {
            f.exchange.firstToken(nowNanos);
            released += FleetState.RELEASED_BY_REQUEST;
        }
        long t = nowNanos - f.arrival;
        ttft.recordValue(Math.max(0, t / 1000));
        if (f.arrival >= spikeStart && f.arrival < spikeEnd) {
            spikeTtft.recordValue(Math.max(0, t / 1000));
        }
        queueTime.recordValue(Math.max(0, (r.firstScheduledNanos() - f.arrival) / 1000));
        if (t <= f.sloNanos) {
            sloMet++;
        }
    }

    @Override
    public void onFinished(EngineRequest r, long nowNanos) {
        Flight f = (Flight) r.attachment();
        long latency = nowNanos - f.arrival;
        e2e.recordValue(Math.max(0, latency / 1000));
        completed++;
        outputTokens += r.generated();
        ended(f, nowNanos);
        LoadStats load = members[f.endpoint].load();
        load.requestEnded();
        load.recordLatency(nowNanos, latency, LoadStats.DEFAULT_DECAY_NANOS);
        series.set(f.endpoint, nowNanos, load.activeRequests());
        lastEvent = Math.max(lastEvent, nowNanos);
        if (log != null) {
            logSent(r, f, nowNanos, "ok");
        }
    }

    @Override
    public void onFailed(EngineRequest r, Failure failure, long nowNanos) {
        Flight f = (Flight) r.attachment();
        String outcome = failure.name().toLowerCase(Locale.ROOT);
        failures.merge(outcome, 1L, Long::sum);
        if (log != null) {
            logSent(r, f, nowNanos, outcome);
        }
        ended(f, nowNanos);
        LoadStats load = members[f.endpoint].load();
        load.failure();
        load.requestEnded();
        series.set(f.endpoint, nowNanos, load.activeRequests());
        lastEvent = Math.max(lastEvent, nowNanos);
    }

    private void ended(Flight f, long nowNanos) {
        if (f.exchange != null) {
            f.exchange.finished(nowNanos);
            released += FleetState.RELEASED_BY_REQUEST;
        }
    }
}
