package io.sluice.inference;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.Pool;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.io.BufferedReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A development harness, not a test and not the replay: a small vLLM-like engine model (continuous batching, chunked
 * prefill with an 8,192-token budget, 256 sequences, a 28,000-block KV cache with an LRU prefix cache, a step time
 * of 6 ms + 45 µs per prefill token + KV reads) driven in virtual time, used to compare the inference policies with
 * the baselines while designing the scheduler. The official comparison is {@code sluice replay} in sluice-sim, whose
 * engine model is calibrated; numbers from here are only indicative.
 *
 * <p>Usage: {@code java -cp <core classes and test classes> io.sluice.inference.FleetHarness WORKLOAD ENDPOINTS
 * LOAD LIMIT POLICIES [FEEDBACK]} where WORKLOAD is {@code mooncake} (LOAD = speed-up of the trace), {@code azure}
 * (speed-up) or {@code shared} (LOAD = requests per second of a generated shared-prefix multi-turn workload; the
 * system properties {@code x.groups} and {@code x.nosessions} turn it into a single hot prefix), POLICIES a comma
 * list ({@code round-robin}, {@code least}, {@code llm-d}, {@code sglang-cache-aware}, {@code inference}), and
 * FEEDBACK false to attach bare requests instead of exchanges.
 */
public final class FleetHarness {

    // ---- engine model (H100 + Llama-3-8B-ish) -----------------------------------------------------------------
    static final int BLOCK = 16;
    static double stepBase = 0.006;
    static double perPrefillToken = 1.0 / 22_000;
    static double perKvToken = 1.0 / 30e6;
    static double perDecodeSeq = 0.00003;
    static int maxSeqs = 256;
    static int budget = 8192;
    static int kvBlocks = 28_000;

    static final class Req {
        int id;
        double arrival;
        int prompt;
        int output;
        long[] hashes;
        String session;
        InferenceExchange x;
        Member member;
        int engine;
        // engine-side
        int cachedTokens;
        int prefilled;
        int generated;
        int blocksHeld;
        double firstToken = -1;
        double end = -1;
        double queued;
        boolean admitted;
    }

    static final class Engine {
        final int id;
        final ArrayDeque<Req> waiting = new ArrayDeque<>();
        final List<Req> running = new ArrayList<>();
        // prefix cache: hash -> refcount; LRU of unreferenced hashes
        final HashMap<Long, int[]> cache = new HashMap<>();
        final LinkedHashMap<Long, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true);
        int used;   // referenced blocks (incl. private decode blocks)
        final List<Req> firsts = new ArrayList<>();
        final List<Req> done = new ArrayList<>();
        boolean busy;
        long hits;
        long queries;

        Engine(int id) {
            this.id = id;
        }

        int free() {
            return kvBlocks - used - lru.size();
        }

        boolean ensure(int blocks) {
            while (free() < blocks && !lru.isEmpty()) {
                Iterator<Long> it = lru.keySet().iterator();
                Long h = it.next();
                it.remove();
                cache.remove(h);
            }
            return free() >= blocks;
        }

        boolean admit(Req r) {
            int full = r.prompt / BLOCK;
            int hit = 0;
            for (int i = 0; i < Math.min(full, r.hashes.length); i++) {
                if (cache.containsKey(r.hashes[i])) {
                    hit++;
                } else {
                    break;
                }
            }
            int need = (r.prompt + BLOCK - 1) / BLOCK - hit + 1;
            // reference hit blocks first so they are not evicted
            for (int i = 0; i < hit; i++) {
                int[] rc = cache.get(r.hashes[i]);
                if (rc[0]++ == 0) {
                    lru.remove(r.hashes[i]);
                    used++;
                }
            }
            if (!ensure(need)) {
                for (int i = 0; i < hit; i++) {
                    release(r.hashes[i]);
                }
                return false;
            }
            used += need;
            r.blocksHeld = need;
            r.cachedTokens = Math.min(r.prompt - 1, hit * BLOCK);
            r.prefilled = r.cachedTokens;
            queries += r.prompt;
            hits += r.cachedTokens;
            return true;
        }

        void release(long h) {
            int[] rc = cache.get(h);
            if (rc != null && --rc[0] == 0) {
                used--;
                lru.put(h, Boolean.TRUE);
            }
        }

        void finish(Req r) {
            int full = Math.min(r.prompt / BLOCK, r.hashes.length);
            int hit = r.cachedTokens / BLOCK;
            for (int i = 0; i < hit; i++) {
                release(r.hashes[i]);
            }
            // newly computed full prompt blocks become cached
            int fresh = 0;
            for (int i = hit; i < full; i++) {
                long h = r.hashes[i];
                int[] rc = cache.get(h);
                if (rc == null) {
                    cache.put(h, new int[] {0});
                    lru.put(h, Boolean.TRUE);
                    fresh++;
                } else if (rc[0] == 0) {
                    lru.get(h);
                }
            }
            used -= r.blocksHeld;
            // the fresh cached blocks were part of the held blocks: they moved to the lru
            used = Math.max(0, used);
            if (fresh > 0) {
                // held blocks already freed; lru grew by fresh: keep total consistent by evicting if needed
                ensure(0);
            }
        }

        /** One step: returns its duration, or -1 if idle. */
        double step(double now, List<Req> firsts, List<Req> done) {
            // admit FCFS
            while (!waiting.isEmpty() && running.size() < maxSeqs) {
                Req r = waiting.peekFirst();
                if (!admit(r)) {
                    break;
                }
                waiting.pollFirst();
                r.admitted = true;
                running.add(r);
            }
            if (running.isEmpty()) {
                return -1;
            }
            int tokens = 0;
            long kv = 0;
            int decodes = 0;
            List<Req> prefilling = new ArrayList<>();
            for (Req r : running) {
                if (r.prefilled >= r.prompt) {
                    tokens++;
                    decodes++;
                    kv += r.prompt + r.generated;
                }
            }
            for (Req r : running) {
                if (r.prefilled < r.prompt && tokens < budget) {
                    int chunk = Math.min(r.prompt - r.prefilled, budget - tokens);
                    tokens += chunk;
                    r.prefilled += chunk;
                    kv += r.prefilled;
                    prefilling.add(r);
                }
            }
            double dt = stepBase + (tokens - decodes) * perPrefillToken + kv * perKvToken + decodes * perDecodeSeq;
            double end = now + dt;
            for (Iterator<Req> it = running.iterator(); it.hasNext();) {
                Req r = it.next();
                if (r.prefilled >= r.prompt) {
                    if (r.firstToken < 0) {
                        if (prefilling.contains(r)) {
                            r.firstToken = end;
                            r.generated = 1;
                            firsts.add(r);
                        }
                    } else {
                        r.generated++;
                        if ((r.prompt + r.generated) % BLOCK == 0) {
                            if (ensure(1)) {
                                used++;
                                r.blocksHeld++;
                            }
                        }
                    }
                    if (r.firstToken >= 0 && r.generated >= r.output) {
                        r.end = end;
                        it.remove();
                        finish(r);
                        done.add(r);
                    }
                }
            }
            return dt;
        }

        double kvUsage() {
            return Math.min(1.0, (double) used / kvBlocks);
        }
    }

    // ---- driver -----------------------------------------------------------------------------------------------

    record Event(double t, int kind, int engine, Req req, long seq) implements Comparable<Event> {
        public int compareTo(Event o) {
            int c = Double.compare(t, o.t);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    static long seq;
    static int queuedCount;

    static Map<String, Object> run(String policy, List<Req> trace, int n, double scrapeInterval, long seed,
                                   boolean feedback, InferenceConfig cfg) {
        ManualClock clock = ManualClock.start();
        List<Endpoint> eps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            eps.add(Endpoint.of(new Address("10.0.0." + (i + 1), 8000)));
        }
        SplittableRandom sr = new SplittableRandom(seed);
        LoadBalancer lb;
        FleetState fleet = null;
        if (policy.equals("round-robin") || policy.equals("least")) {
            fleet = InferencePolicies.fleetFor("inference", cfg, clock);
            lb = new RoundRobinish(policy.equals("least"));
        } else {
            fleet = InferencePolicies.fleetFor(policy, cfg, clock);
            lb = InferencePolicies.of(policy, fleet, () -> sr.split());
        }
        Pool pool = Pool.of("llm", lb, EndpointSet.Options.DEFAULT, clock, false, eps, Optional.empty());
        Engine[] engines = new Engine[n];
        Map<Member, Integer> idx = new HashMap<>();
        for (int i = 0; i < n; i++) {
            engines[i] = new Engine(i);
            idx.put(pool.members().get(i), i);
        }
        PriorityQueue<Event> q = new PriorityQueue<>();
        for (Req r : trace) {
            q.add(new Event(r.arrival, 0, -1, r, seq++));
        }
        for (double t = 0; t < trace.get(trace.size() - 1).arrival + 600; t += scrapeInterval) {
            q.add(new Event(t, 2, -1, null, seq++));
        }
        ArrayDeque<Req> central = new ArrayDeque<>();
        PickContext ctx = new PickContext();
        int[] perEndpoint = new int[n];
        List<Req> finished = new ArrayList<>();
        int shed = 0;
        while (!q.isEmpty()) {
            Event e = q.poll();
            clock.setNanos((long) (e.t * 1e9));
            if (e.kind == 0 || e.kind == 3) {
                Req r = e.req;
                ctx.reset();
                if (feedback) {
                    r.x = InferenceExchange.of(new InferenceRequest("m", Optional.empty(), r.hashes, r.prompt,
                            r.output, Optional.ofNullable(r.session), 0, "t", 0, true));
                    ctx.attach(r.x);
                } else {
                    ctx.attach(new InferenceRequest("m", Optional.empty(), r.hashes, r.prompt, r.output,
                            Optional.ofNullable(r.session), 0, "t", 0, true));
                }
                Member m;
                try {
                    m = pool.select(ctx);
                } catch (NoEndpointException ex) {
                    if (e.kind == 0) {
                        queuedCount++;
                        central.add(r);
                    } else {
                        central.addFirst(r);
                    }
                    continue;
                }
                dispatch(r, m, idx.get(m), engines, q, e.t, perEndpoint);
            } else if (e.kind == 1) {
                Engine en = engines[e.engine];
                for (Req r : en.firsts) {
                    if (r.x != null) {
                        r.x.firstToken((long) (r.firstToken * 1e9));
                    }
                }
                for (Req r : en.done) {
                    r.member.load().requestEnded();
                    if (r.x != null) {
                        r.x.finished((long) (r.end * 1e9));
                    }
                    finished.add(r);
                }
                boolean freed = !en.done.isEmpty();
                en.firsts.clear();
                en.done.clear();
                double dt = en.step(e.t, en.firsts, en.done);
                if (dt < 0) {
                    en.busy = false;
                } else {
                    q.add(new Event(e.t + dt, 1, e.engine, null, seq++));
                }
                if (freed) {
                    drain(central, q, e.t);
                }
            } else if (e.kind == 2) {
                for (int i = 0; i < n; i++) {
                    Engine en = engines[i];
                    int blocks = kvBlocks;
                    fleet.publish(pool.members().get(i).address(), new ServerMetrics(en.waiting.size(),
                            en.running.size(), en.kvUsage(), blocks, BLOCK, java.util.Set.of(), 0,
                            clock.nanoTime()));
                }
                drain(central, q, e.t);
            }
            if (finished.size() == trace.size()) {
                break;
            }
        }
        double[] ttft = finished.stream().mapToDouble(r -> r.firstToken - r.arrival).sorted().toArray();
        double[] e2e = finished.stream().mapToDouble(r -> r.end - r.arrival).sorted().toArray();
        long hits = 0;
        long queries = 0;
        for (Engine en : engines) {
            hits += en.hits;
            queries += en.queries;
        }
        double mean = Arrays.stream(perEndpoint).average().orElse(1);
        int max = Arrays.stream(perEndpoint).max().orElse(0);
        double span = finished.stream().mapToDouble(r -> r.end).max().orElse(1) - trace.get(0).arrival;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("policy", policy);
        out.put("done", finished.size());
        out.put("ttft50", pct(ttft, 0.5));
        out.put("ttft90", pct(ttft, 0.9));
        out.put("ttft99", pct(ttft, 0.99));
        out.put("e2e50", pct(e2e, 0.5));
        out.put("hit", (double) hits / Math.max(1, queries));
        out.put("imb", max / mean);
        out.put("rps", finished.size() / span);
        out.put("queued", queuedCount);
        queuedCount = 0;
        return out;
    }

    static void drain(ArrayDeque<Req> central, PriorityQueue<Event> q, double t) {
        int k = central.size();
        for (int i = 0; i < k; i++) {
            q.add(new Event(t, 3, -1, central.pollFirst(), seq++));
        }
    }

    static void dispatch(Req r, Member m, int i, Engine[] engines, PriorityQueue<Event> q, double t, int[] per) {
        r.member = m;
        r.engine = i;
        m.load().requestStarted();
        per[i]++;
        Engine en = engines[i];
        en.waiting.add(r);
        if (!en.busy) {
            en.busy = true;
            double dt = en.step(t, en.firsts, en.done);
            q.add(new Event(t + Math.max(dt, 0), 1, i, null, seq++));
        }
    }

    static double pct(double[] v, double p) {
        if (v.length == 0) {
            return Double.NaN;
        }
        return v[Math.min(v.length - 1, (int) Math.floor(p * v.length))];
    }

    /** Round-robin and least-request baselines for reference. */
    static final class RoundRobinish implements LoadBalancer {
        final boolean least;
        int cursor;

        RoundRobinish(boolean least) {
            this.least = least;
        }

        public String name() {
            return least ? "least" : "round-robin";
        }

        public io.sluice.balance.Selector newSelector(EndpointSet s) {
            List<Member> c = s.candidates();
            return ctx -> {
                if (!least) {
                    return c.get(cursor++ % c.size());
                }
                Member best = null;
                for (int k = 0; k < c.size(); k++) {
                    Member m = c.get((cursor + k) % c.size());
                    if (best == null || m.load().activeRequests() < best.load().activeRequests()) {
                        best = m;
                    }
                }
                cursor++;
                return best;
            };
        }
    }

    // ---- workloads --------------------------------------------------------------------------------------------

    static long[] expand(List<Long> ids, int prompt, int perId) {
        int blocks = prompt / BLOCK;
        long[] out = new long[blocks];
        long prev = 0;
        for (int i = 0; i < blocks; i++) {
            long id = ids.get(Math.min(ids.size() - 1, i / perId));
            prev = PromptHasher.nextSynthetic(prev, id * 64 + (i % perId));
            out[i] = prev;
        }
        return out;
    }

    static List<Req> mooncake(double speedup, int limit) throws Exception {
        List<Req> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(Path.of(
                "/work/shared/traces/mooncake/conversation_trace.jsonl"))) {
            String line;
            while ((line = in.readLine()) != null && out.size() < limit) {
                Req r = new Req();
                r.id = out.size();
                r.arrival = num(line, "timestamp") / 1000.0 / speedup;
                r.prompt = (int) num(line, "input_length");
                r.output = Math.max(1, (int) num(line, "output_length"));
                int a = line.indexOf('[');
                int b = line.indexOf(']');
                List<Long> ids = new ArrayList<>();
                for (String s : line.substring(a + 1, b).split(",")) {
                    if (!s.isBlank()) {
                        ids.add(Long.parseLong(s.strip()));
                    }
                }
                r.hashes = expand(ids, r.prompt, 32);
                out.add(r);
            }
        }
        return out;
    }

    static double num(String line, String key) {
        int i = line.indexOf("\"" + key + "\"");
        int c = line.indexOf(':', i) + 1;
        int e = c;
        while (e < line.length() && ",}".indexOf(line.charAt(e)) < 0) {
            e++;
        }
        return Double.parseDouble(line.substring(c, e).strip());
    }

    static List<Req> azure(double speedup, int limit) throws Exception {
        List<Req> out = new ArrayList<>();
        DateTimeFormatter f = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSSS");
        LocalDateTime first = null;
        try (BufferedReader in = Files.newBufferedReader(Path.of(
                "/work/shared/traces/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"))) {
            in.readLine();
            String line;
            while ((line = in.readLine()) != null && out.size() < limit) {
                String[] p = line.split(",");
                LocalDateTime t = LocalDateTime.parse(p[0], f);
                if (first == null) {
                    first = t;
                }
                Req r = new Req();
                r.id = out.size();
                r.arrival = java.time.Duration.between(first, t).toNanos() / 1e9 / speedup;
                r.prompt = Integer.parseInt(p[1]);
                r.output = Math.max(1, Integer.parseInt(p[2]));
                List<Long> ids = new ArrayList<>();
                ids.add(1_000_000L + r.id);
                r.hashes = expand(ids, r.prompt, 1 << 20);
                out.add(r);
            }
        }
        return out;
    }

    /** Shared system prompts + multi-turn sessions. */
    static List<Req> sharedPrefix(double rate, int count, long seed) {
        Random rnd = new Random(seed);
        int groups = Integer.getInteger("x.groups", 16);
        int[] sys = new int[groups];
        for (int g = 0; g < groups; g++) {
            sys[g] = 1000 + rnd.nextInt(3000);
        }
        List<Req> out = new ArrayList<>();
        double t = 0;
        List<long[]> sessionHist = new ArrayList<>();
        List<Integer> sessionLen = new ArrayList<>();
        List<Integer> sessionGroup = new ArrayList<>();
        while (out.size() < count) {
            t += -Math.log(1 - rnd.nextDouble()) / rate;
            Req r = new Req();
            r.id = out.size();
            r.arrival = t;
            int s;
            if (sessionHist.isEmpty() || rnd.nextDouble() < (Boolean.getBoolean("x.nosessions") ? 1.0 : 0.3)) {
                s = sessionHist.size();
                int g = (int) Math.min(groups - 1, Math.abs(rnd.nextGaussian()) * 4);
                if (Boolean.getBoolean("x.nosessions")) { g = rnd.nextInt(groups); }
                sessionGroup.add(g);
                sessionLen.add(sys[g]);
                sessionHist.add(null);
            } else {
                s = rnd.nextInt(sessionHist.size());
            }
            int g = sessionGroup.get(s);
            int prev = sessionLen.get(s);
            int add = 100 + rnd.nextInt(600);
            r.prompt = prev + add;
            r.output = 50 + rnd.nextInt(400);
            sessionLen.set(s, r.prompt + r.output);
            r.session = "s" + s;
            // hashes: system prompt blocks (group), then session-specific turns
            int blocks = r.prompt / BLOCK;
            long[] h = new long[blocks];
            long prevH = 0;
            for (int i = 0; i < blocks; i++) {
                long id = i * BLOCK < sys[g] ? g * 1_000_000L + i : (s + 1) * 1_000_000_000L + i;
                prevH = PromptHasher.nextSynthetic(prevH, id);
                h[i] = prevH;
            }
            r.hashes = h;
            out.add(r);
        }
        return out;
    }

    static List<Req> copy(List<Req> in) {
        List<Req> out = new ArrayList<>();
        for (Req r : in) {
            Req c = new Req();
            c.id = r.id;
            c.arrival = r.arrival;
            c.prompt = r.prompt;
            c.output = r.output;
            c.hashes = r.hashes;
            c.session = r.session;
            out.add(c);
        }
        return out;
    }

    public static void main(String[] args) throws Exception {
        String work = args[0];
        int n = Integer.parseInt(args[1]);
        double speed = Double.parseDouble(args[2]);
        int limit = Integer.parseInt(args[3]);
        String[] policies = args[4].split(",");
        boolean feedback = args.length <= 5 || Boolean.parseBoolean(args[5]);
        List<Req> trace = switch (work) {
            case "mooncake" -> mooncake(speed, limit);
            case "azure" -> azure(speed, limit);
            default -> sharedPrefix(speed, limit, 1);
        };
        InferenceConfig cfg = InferenceConfig.defaults();
        for (String p : policies) {
            long t0 = System.nanoTime();
            Map<String, Object> r = run(p, copy(trace), n, 0.1, 42, feedback, cfg);
            StringBuilder sb = new StringBuilder();
            for (Map.Entry<String, Object> e : r.entrySet()) {
                Object v = e.getValue();
                sb.append(e.getKey()).append('=').append(v instanceof Double d ? String.format("%.3f", d) : v)
                        .append(' ');
            }
            System.out.println(sb + String.format(" wall=%.1fs", (System.nanoTime() - t0) / 1e9));
        }
    }
}
