package io.sluice.sim.trace;

import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Generates a {@link Workload} as a stream: memory holds only the conversations still in progress.
 *
 * <p>New conversations arrive as a renewal process with exponential (Poisson) or gamma gaps; gamma variates use
 * Marsaglia and Tsang, "A Simple Method for Generating Gamma Variables" (ACM TOMS 2000). A conversation picks its
 * lengths from the sampler, may start with one of the shared prefixes, and, for multi-turn workloads, comes back
 * after an exponential think time with its whole history (previous prompt, previous answer, a new message) as the
 * next prompt: block ids are kept across turns, so the history is a real shared prefix. In a multi-turn workload
 * the ids also cover each answer ({@link TraceRequest#sequenceHashes()}): the engine that computed it keeps its
 * blocks cached under them, as vLLM and SGLang do, and the next turn, whose prompt repeats the answer, finds them
 * there.
 */
public final class Generator implements RequestStream {

    private static final long FRESH_IDS = 1L << 40;
    private static final int MAX_PROMPT = 100_000;
    private static final long[] NO_IDS = new long[0];

    private record Turn(TraceRequest request, int turnsLeft, long sessionIndex) implements Comparable<Turn> {
        @Override
        public int compareTo(Turn o) {
            return Long.compare(request.arrivalNanos(), o.request.arrivalNanos());
        }
    }

    private final Workload w;
    private final SplittableRandom random;
    private final PriorityQueue<Turn> followUps = new PriorityQueue<>();
    private final long endNanos;
    private long nextFresh;
    private long nextId = FRESH_IDS;
    private long sessions;

    /** Starts generating. */
    public Generator(Workload workload) {
        this.w = workload;
        this.random = new SplittableRandom(workload.seed());
        this.endNanos = workload.duration().isZero() ? Long.MAX_VALUE : workload.duration().toNanos();
        this.nextFresh = gap();
    }

    private long gap() {
        double mean = 1e9 / w.ratePerSecond();
        if (w.gammaCv() == 1) {
            return Math.round(-Math.log(1 - random.nextDouble()) * mean);
        }
        double shape = 1 / (w.gammaCv() * w.gammaCv());
        return Math.round(gamma(shape) * mean / shape);
    }

    private double gamma(double shape) {
        if (shape < 1) {
            return gamma(shape + 1) * Math.pow(random.nextDouble(), 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = normal();
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = random.nextDouble();
            if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) {
                return d * v;
            }
        }
    }

    private double normal() {
        double u1 = 1 - random.nextDouble();
        double u2 = random.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    @Override
    public boolean hasNext() {
        return nextFresh <= endNanos || !followUps.isEmpty();
    }

    @Override
    public TraceRequest next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        Turn t;
        if (!followUps.isEmpty() && (followUps.peek().request.arrivalNanos() <= nextFresh || nextFresh > endNanos)) {
            t = followUps.poll();
        } else {
            t = fresh(nextFresh);
            nextFresh += gap();
        }
        if (t.turnsLeft > 0) {
            scheduleFollowUp(t);
        }
        return t.request;
    }

    private Turn fresh(long at) {
        long lengths = w.lengths().sample(random);
        int prompt = (int) (lengths >>> 32);
        int output = (int) lengths;
        long[] ids;
        if (w.prefixGroups() > 0 && random.nextDouble() < w.prefixShare()) {
            int group = random.nextInt(w.prefixGroups());
            prompt = Math.max(prompt, w.prefixTokens() + 16);
            int shared = w.prefixTokens() / 16;
            ids = new long[(prompt + (w.turns() > 1 ? output : 0)) / 16];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = i < shared ? ((long) group << 24) + i : nextId++;
            }
        } else if (w.turns() > 1) {
            ids = freshIds((prompt + output) / 16);
        } else {
            // Nothing can share this prompt: no ids, so the engines keep its blocks private (never matched).
            ids = NO_IDS;
        }
        long session = sessions++;
        Optional<String> adapter = w.adapters() > 0
                ? Optional.of("adapter-" + random.nextInt(w.adapters())) : Optional.empty();
        Optional<String> sessionName = w.turns() > 1 ? Optional.of("s" + session) : Optional.empty();
        TraceRequest r = new TraceRequest(at, prompt, output, ids, 16, Optional.empty(), adapter, "", 0,
                sessionName, 0, w.turns() > 1);
        return new Turn(r, w.turns() - 1, session);
    }

    private long[] freshIds(int n) {
        long[] ids = new long[n];
        for (int i = 0; i < n; i++) {
            ids[i] = nextId++;
        }
        return ids;
    }

    private void scheduleFollowUp(Turn t) {
        TraceRequest prev = t.request;
        long lengths = w.lengths().sample(random);
        int message = (int) (lengths >>> 32);
        int output = (int) lengths;
        long prompt = (long) prev.promptTokens() + prev.outputTokens() + message;
        if (prompt > MAX_PROMPT) {
            return;
        }
        // The previous prompt and answer, then the new message; then ids for this turn's answer.
        int keep = (prev.promptTokens() + prev.outputTokens()) / 16;
        long[] ids = new long[(int) ((prompt + output) / 16)];
        int kept = Math.min(keep, prev.blockIds().length);
        System.arraycopy(prev.blockIds(), 0, ids, 0, kept);
        for (int i = kept; i < ids.length; i++) {
            ids[i] = nextId++;
        }
        long think = Math.round(-Math.log(1 - random.nextDouble()) * w.thinkTime().toNanos());
        TraceRequest next = new TraceRequest(prev.arrivalNanos() + Math.max(1, think), (int) prompt, output, ids,
                16, prev.model(), prev.adapter(), prev.tenant(), prev.priority(), prev.session(), 0, true);
        followUps.add(new Turn(next, t.turnsLeft - 1, t.sessionIndex));
    }

    @Override
    public long skipped() {
        return 0;
    }

    @Override
    public String describe() {
        return "generated: " + w;
    }

    @Override
    public void close() {
        followUps.clear();
    }
}
