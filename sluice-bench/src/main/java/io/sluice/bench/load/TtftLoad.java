package io.sluice.bench.load;

import io.netty.channel.EventLoopGroup;
import io.sluice.config.Durations;
import io.sluice.proxy.server.Transport;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * A TTFT load generator for OpenAI-compatible streaming endpoints: many concurrent streaming chat completions with
 * long, distinct prompts that share prefixes ({@link PromptCorpus}), TTFT into an HdrHistogram, a warm-up and then a
 * bounded measured window. {@code bench/inference-overhead.sh} runs it against simulators directly and through
 * Sluice.
 *
 * <pre>
 * java -cp sluice-bench/target/benchmarks.jar io.sluice.bench.load.TtftLoad \
 *     --url http://127.0.0.1:8001/v1/chat/completions --concurrency 150 --warmup 10s --duration 30s
 * </pre>
 *
 * <p>With {@code --url-b}, a second arm (e.g. the same servers through a proxy) runs at the same time with its own
 * connections, so both arms see the same background load: on a shared machine that is a much fairer comparison
 * than two runs one after the other. The last lines are machine-readable, one per arm:
 * {@code RESULT label=.. ok=.. errors=.. rps=.. p50=.. p90=.. p99=.. max=..} (TTFT in milliseconds).
 */
@Command(name = "ttft-load", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Streams chat completions with long shared-prefix prompts and reports TTFT percentiles.")
public final class TtftLoad implements Callable<Integer> {

    @Option(names = "--url", required = true, split = ",", paramLabel = "URL",
            description = "target URL(s); connection i goes to URL i mod n")
    private List<URI> urls;

    @Option(names = "--label", defaultValue = "run", description = "name printed with the results")
    private String label;

    @Option(names = "--url-b", split = ",", paramLabel = "URL", description = "target URL(s) of a second arm, run "
            + "at the same time with its own connections (a paired comparison)")
    private List<URI> urlsB = List.of();

    @Option(names = "--label-b", defaultValue = "b", description = "name of the second arm")
    private String labelB;

    @Option(names = "--concurrency", defaultValue = "150", description = "connections per arm, one request in "
            + "flight each")
    private int concurrency;

    @Option(names = "--rate", defaultValue = "0",
            description = "requests/s per arm, open loop (0: closed loop, the default)")
    private double rate;

    @Option(names = "--prompt-bytes", defaultValue = "225280", description = "prompt bytes per request (220 KiB)")
    private int promptBytes;

    @Option(names = "--prefix-share", defaultValue = "0.5", description = "share of the prompt that is a shared "
            + "system message")
    private double prefixShare;

    @Option(names = "--prefixes", defaultValue = "8", description = "distinct system messages")
    private int prefixes;

    @Option(names = "--max-tokens", defaultValue = "4", description = "max_tokens of each request")
    private int maxTokens;

    @Option(names = "--model", defaultValue = "llama-3-8b", description = "model name")
    private String model;

    @Option(names = "--warmup", defaultValue = "10s", description = "warm-up before measuring")
    private String warmup;

    @Option(names = "--duration", defaultValue = "30s", description = "measured window")
    private String duration;

    @Option(names = "--max-requests", defaultValue = "0", description = "measured requests at most (0: no limit)")
    private long maxRequests;

    @Option(names = "--drain", defaultValue = "30s", description = "wait this long for responses after the window")
    private String drain;

    @Option(names = "--threads", defaultValue = "1", description = "client event loops")
    private int threads;

    @Option(names = "--seed", defaultValue = "1", description = "seed of prompts")
    private long seed;

    /** The merged outcome of one arm of a run. */
    public record Result(Histogram ttftMicros, Histogram totalMicros, long ok, long errors, long unfinished,
                         long backlogged, long bytesSent, double seconds, double clientCpuSeconds) {
        /** Completed requests per second in the measured window. */
        public double rps() {
            return ok / seconds;
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new TtftLoad()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = new PrintWriter(System.out, true);
        LoadOptions options;
        try {
            options = new LoadOptions(urls, urlsB, concurrency, rate, Durations.parse(warmup),
                    Durations.parse(duration), maxRequests, Durations.parse(drain), threads);
        } catch (IllegalArgumentException e) {
            System.err.println("ttft-load: " + e.getMessage());
            return 2;
        }
        List<Result> results = run(options, worker -> new PromptCorpus(model, promptBytes, prefixShare, prefixes,
                maxTokens, seed + worker));
        List<String> labels = List.of(label, labelB);
        int status = 0;
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            String name = labels.get(i);
            out.printf(Locale.ROOT, "ttft-load %s: %d target(s), concurrency %d, %s%s, prompt %,d B (%.0f%% in %d "
                            + "shared prefixes), max_tokens %d, warm-up %s, window %s%n", name,
                    options.arms().get(i).size(), concurrency, rate > 0 ? String.format(Locale.ROOT,
                            "open loop at %.1f req/s", rate) : "closed loop", results.size() > 1 ? ", paired" : "",
                    promptBytes, prefixShare * 100, prefixes, maxTokens, warmup, duration);
            out.printf(Locale.ROOT, "  %,d ok, %d errors, %d unfinished, %d waited for a connection; %.1f req/s; "
                            + "%.1f MB/s sent; client CPU %.0f%% of one core (all arms)%n", r.ok(), r.errors(),
                    r.unfinished(), r.backlogged(), r.rps(), r.bytesSent() / r.seconds() / 1e6,
                    100 * r.clientCpuSeconds() / r.seconds());
            out.println("  TTFT ms   " + percentiles(r.ttftMicros()));
            out.println("  total ms  " + percentiles(r.totalMicros()));
            if (r.ok() == 0 || r.errors() > 0 || r.unfinished() > 0) {
                status = 1;
            }
        }
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            Histogram h = r.ttftMicros();
            out.printf(Locale.ROOT, "RESULT label=%s ok=%d errors=%d unfinished=%d rps=%.1f p50=%.2f p90=%.2f "
                            + "p99=%.2f max=%.2f cpu=%.2f%n", labels.get(i), r.ok(), r.errors(), r.unfinished(),
                    r.rps(), ms(h, 50), ms(h, 90), ms(h, 99), h.getMaxValue() / 1000.0,
                    r.clientCpuSeconds() / r.seconds());
        }
        return status;
    }

    private static double ms(Histogram h, double p) {
        return h.getValueAtPercentile(p) / 1000.0;
    }

    private static String percentiles(Histogram h) {
        return String.format(Locale.ROOT, "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f  (n %d)", ms(h, 50),
                ms(h, 90), ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1000.0, h.getTotalCount());
    }

    /** Makes the prompts of one worker. */
    @FunctionalInterface
    public interface CorpusFactory {
        /** The corpus of worker {@code index}. */
        PromptCorpus create(int index);
    }

    /**
     * Runs a load and returns the merged histograms of each arm.
     *
     * @throws IllegalStateException if a connection cannot be opened
     */
    public static List<Result> run(LoadOptions options, CorpusFactory corpora) throws InterruptedException {
        Transport transport = Transport.select();
        EventLoopGroup group = transport.newGroup(options.threads(), "ttft-load");
        try {
            List<LoadWorker> workers = new ArrayList<>();
            List<CompletableFuture<Void>> connects = new ArrayList<>();
            int first = 0;
            for (int i = 0; i < options.threads(); i++) {
                int users = options.concurrency() / options.threads()
                        + (i < options.concurrency() % options.threads() ? 1 : 0);
                LoadWorker w = new LoadWorker(group.next(), transport, options.arms(), corpora.create(i), options,
                        users, options.rate() * users / options.concurrency(), (long) i << 40);
                workers.add(w);
                connects.add(w.connect(first));
                first += users;
            }
            try {
                CompletableFuture.allOf(connects.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("connecting failed: " + e.getMessage(), e);
            }
            long cpu0 = cpuNanos();
            long start = System.nanoTime();
            long warmEnd = start + options.warmup().toNanos();
            long end = warmEnd + options.duration().toNanos();
            for (LoadWorker w : workers) {
                w.start(start, warmEnd, end);
            }
            long cpuWarm = cpu0;
            long waitWarm = warmEnd - System.nanoTime();
            if (waitWarm > 0) {
                TimeUnit.NANOSECONDS.sleep(waitWarm);
                cpuWarm = cpuNanos();
            }
            long limit = end + options.drain().toNanos() + TimeUnit.SECONDS.toNanos(5);
            for (LoadWorker w : workers) {
                try {
                    w.done.get(Math.max(1, limit - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    throw new IllegalStateException("the load did not finish: " + e, e);
                }
            }
            long measuredEnd = warmEnd;
            for (LoadWorker w : workers) {
                measuredEnd = Math.max(measuredEnd, w.stoppedAt);
            }
            double seconds = Math.max(1e-9, (measuredEnd - warmEnd) / 1e9);
            double cpu = (cpuNanos() - cpuWarm) / 1e9;
            List<Result> results = new ArrayList<>();
            for (int a = 0; a < options.arms().size(); a++) {
                Histogram ttft = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
                Histogram total = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
                long ok = 0;
                long errors = 0;
                long unfinished = 0;
                long backlogged = 0;
                long bytes = 0;
                for (LoadWorker w : workers) {
                    LoadWorker.Arm arm = w.arms[a];
                    ttft.add(arm.ttft);
                    total.add(arm.total);
                    ok += arm.completed;
                    errors += arm.errors;
                    unfinished += arm.unfinished;
                    backlogged += arm.backlogged;
                    bytes += arm.bytesSent;
                }
                results.add(new Result(ttft, total, ok, errors, unfinished, backlogged, bytes, seconds, cpu));
            }
            return results;
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
