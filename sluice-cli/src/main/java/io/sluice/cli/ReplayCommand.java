package io.sluice.cli;

import io.sluice.config.ConfigException;
import io.sluice.config.Durations;
import io.sluice.sim.engine.Faults;
import io.sluice.sim.replay.Fleet;
import io.sluice.sim.replay.PoolSettings;
import io.sluice.sim.replay.Replay;
import io.sluice.sim.replay.ReplayConfig;
import io.sluice.sim.replay.ReplayReport;
import io.sluice.sim.replay.ReportHtml;
import io.sluice.sim.replay.ReportJson;
import io.sluice.sim.replay.ReportTable;
import io.sluice.sim.trace.Generator;
import io.sluice.sim.trace.LengthSampler;
import io.sluice.sim.trace.RequestStream;
import io.sluice.sim.trace.Spike;
import io.sluice.sim.trace.TimeWarp;
import io.sluice.sim.trace.TraceFormat;
import io.sluice.sim.trace.TraceFormatException;
import io.sluice.sim.trace.Workload;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sluice replay}: replays a trace (or a generated workload) against a simulated fleet in virtual time, once
 * per policy, and prints a comparison table; writes {@code report.json} and {@code report.html} with {@code --out}
 * (and {@code requests-<policy>.csv} with {@code --requests}); {@code --pool-config} sets the replayed pools'
 * {@code inference:} block.
 */
@Command(name = "replay", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Replay a trace or a generated workload against a simulated GPU fleet, once per policy, in "
                + "virtual time; print a comparison table and write report.json and report.html.",
            "Exit codes: 0 ok, 2 bad input."})
public final class ReplayCommand implements Callable<Integer> {

    private static final int BAD_INPUT = 2;

    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    private Source source;

    static final class Source {
        @Option(names = "--trace", paramLabel = "FILE", description = "trace file (Mooncake, Bailian or Sluice JSONL; "
                + "Azure or BurstGPT CSV; .gz read through gzip)")
        Path trace;

        @Option(names = "--rate", paramLabel = "R", description = "generate a workload of R new requests/s instead "
                + "of reading a trace")
        Double rate;
    }

    @Option(names = "--format", paramLabel = "FMT", description = "mooncake | azure | sluice | bailian | burstgpt "
            + "(default: from the file's first line)")
    private String format;
    /** The trace format when it was guessed rather than given. */
    private TraceFormat guessed;

    @Option(names = "--fleet", required = true, paramLabel = "SPEC",
            description = "servers, e.g. 8xh100-llama3-8b or 4xh100-llama3-8b,2xa100-80g-llama3-8b")
    private String fleet;

    @Option(names = "--policies", paramLabel = "A,B", split = ",", defaultValue = "round-robin,least-connections",
            description = "policies to compare (default: ${DEFAULT-VALUE})")
    private List<String> policies;

    @Option(names = "--speedup", paramLabel = "F", defaultValue = "1",
            description = "replay F times faster than recorded (default: ${DEFAULT-VALUE})")
    private double speedup;

    @Option(names = "--spike", paramLabel = "F@START+DUR", description = "arrivals F times as fast during a "
            + "window, e.g. 8@10m+2m")
    private String spike;

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "replay at most N requests")
    private long limit;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "random seed (default: 1)")
    private long seed;

    @Option(names = "--slo-ttft", paramLabel = "DUR", defaultValue = "3s",
            description = "time-to-first-token objective (default: ${DEFAULT-VALUE})")
    private String sloTtft;

    @Option(names = "--out", paramLabel = "DIR", description = "write report.json and report.html here")
    private Path out;

    @Option(names = "--requests", description = "with --out: also write requests-<policy>.csv, one row per request "
            + "(arrival, endpoint, cached and best cached prompt tokens, waits, TTFT, E2E, outcome)")
    private boolean requests;

    @Option(names = "--pool-config", paramLabel = "FILE", description = "YAML with an inference: block written as "
            + "under a pool of a Sluice config; applied to the policies that take one (inference, llm-d, "
            + "sglang-cache-aware)")
    private Path poolConfig;

    @Option(names = "--skip-bad", description = "skip and count malformed trace lines instead of failing")
    private boolean skipBad;

    @Option(names = "--threads", paramLabel = "N", description = "policies replayed at once (default: cores)")
    private Integer threads;

    @Option(names = "--scrape-interval", paramLabel = "DUR", defaultValue = "100ms",
            description = "how often the router reads engine metrics (default: ${DEFAULT-VALUE})")
    private String scrapeInterval;

    @Option(names = "--scrape-delay", paramLabel = "DUR", defaultValue = "10ms",
            description = "how late a metrics reading reaches the router (default: ${DEFAULT-VALUE})")
    private String scrapeDelay;

    @Option(names = "--arrival", paramLabel = "KIND", defaultValue = "poisson",
            description = "generator: poisson | gamma (default: ${DEFAULT-VALUE})")
    private String arrival;

    @Option(names = "--cv", paramLabel = "C", defaultValue = "2",
            description = "generator: coefficient of variation of gamma gaps (default: ${DEFAULT-VALUE})")
    private double cv;

    @Option(names = "--duration", paramLabel = "DUR", defaultValue = "10m",
            description = "generator: how long to generate (default: ${DEFAULT-VALUE})")
    private String duration;

    @Option(names = "--lengths", paramLabel = "CSV", description = "generator: length-distribution CSV "
            + "(num_prefill_tokens,num_decode_tokens,...)")
    private Path lengths;

    @Option(names = "--input-tokens", paramLabel = "N", defaultValue = "1024",
            description = "generator: prompt length without --lengths (default: ${DEFAULT-VALUE})")
    private int inputTokens;

    @Option(names = "--output-tokens", paramLabel = "N", defaultValue = "256",
            description = "generator: output length without --lengths (default: ${DEFAULT-VALUE})")
    private int outputTokens;

    @Option(names = "--prefix-groups", paramLabel = "G", defaultValue = "0",
            description = "generator: number of shared prefixes")
    private int prefixGroups;

    @Option(names = "--prefix-tokens", paramLabel = "N", defaultValue = "2048",
            description = "generator: tokens of each shared prefix (default: ${DEFAULT-VALUE})")
    private int prefixTokens;

    @Option(names = "--prefix-share", paramLabel = "F", defaultValue = "0.5",
            description = "generator: fraction of requests with a shared prefix (default: ${DEFAULT-VALUE})")
    private double prefixShare;

    @Option(names = "--turns", paramLabel = "N", defaultValue = "1",
            description = "generator: turns per conversation (default: ${DEFAULT-VALUE})")
    private int turns;

    @Option(names = "--think-time", paramLabel = "DUR", defaultValue = "30s",
            description = "generator: mean time between turns (default: ${DEFAULT-VALUE})")
    private String thinkTime;

    @Option(names = "--adapters", paramLabel = "N", defaultValue = "0",
            description = "generator: spread requests over N LoRA adapters")
    private int adapters;

    @Option(names = "--error-rate", paramLabel = "P", defaultValue = "0", description = "faults: server errors")
    private double errorRate;

    @Option(names = "--reset-rate", paramLabel = "P", defaultValue = "0", description = "faults: connection resets")
    private double resetRate;

    @Option(names = "--stall-rate", paramLabel = "PER_S", defaultValue = "0", description = "faults: stalls per "
            + "second of engine time")
    private double stallRate;

    @Option(names = "--stall", paramLabel = "DUR", defaultValue = "2s", description = "faults: stall length")
    private String stall;

    @Option(names = "--warmup", paramLabel = "DUR", defaultValue = "0s", description = "faults: time before the "
            + "servers are ready")
    private String warmup;

    @Override
    public Integer call() {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (requests && out == null) {
            err.println("sluice replay: --requests needs --out DIR (the requests-<policy>.csv files go there)");
            err.flush();
            return BAD_INPUT;
        }
        try {
            PoolSettings settings = poolConfig == null ? PoolSettings.NONE : PoolSettings.load(poolConfig);
            ReplayConfig config = ReplayConfig.of(Fleet.parse(fleet), policies.stream().map(String::strip)
                            .filter(s -> !s.isEmpty()).distinct().toList())
                    .withSeed(seed)
                    .withSloTtft(Durations.parse(sloTtft))
                    .withScrapes(Durations.parse(scrapeInterval), Durations.parse(scrapeDelay))
                    .withFaults(faults())
                    .withPoolSettings(settings)
                    .withRequestLog(requests ? Optional.of(out) : Optional.empty());
            List<String> untouched = config.policies().stream().filter(p -> !settings.appliesTo(p)).toList();
            if (settings.hasInference() && !untouched.isEmpty()) {
                err.println("sluice replay: note: " + String.join(", ", untouched) + (untouched.size() == 1
                        ? " takes no inference settings and runs with its defaults"
                        : " take no inference settings and run with their defaults"));
                err.flush();
            }
            if (threads != null) {
                config = config.withThreads(threads);
            }
            Optional<Spike> burst = spike == null ? Optional.empty() : Optional.of(Spike.parse(spike));
            config = config.withSpike(burst);
            Supplier<RequestStream> workload = workload(burst);
            String name;
            try (RequestStream probe = workload.get()) {
                name = probe.describe();
                if (!probe.hasNext()) {
                    throw new IllegalArgumentException(name + " holds no request"
                            + (probe.skipped() > 0 ? " (" + probe.skipped() + " malformed lines skipped)" : "")
                            + guessedNote());
                }
            }
            ReplayReport report = new Replay(config, workload).run(name, System.err);
            stdout.print(ReportTable.render(report));
            long skipped = report.policies().get(0).failures().getOrDefault("skipped_lines", 0L);
            if (skipped > 0) {
                stdout.printf("skipped %,d malformed trace lines%n", skipped);
            }
            if (out != null) {
                Files.createDirectories(out);
                ReportJson.write(report, out.resolve("report.json"));
                ReportHtml.write(report, out.resolve("report.html"));
                stdout.println("wrote " + out.resolve("report.json") + " and " + out.resolve("report.html"));
                if (requests) {
                    stdout.println("wrote " + String.join(", ", config.policies().stream()
                            .map(p -> out.resolve("requests-" + p + ".csv").toString()).toList()));
                }
            }
            stdout.flush();
            return 0;
        } catch (TraceFormatException e) {
            stdout.flush();
            err.println("sluice replay: " + e.getMessage() + guessedNote());
            err.flush();
            return BAD_INPUT;
        } catch (IllegalArgumentException | UncheckedIOException e) {
            stdout.flush();
            err.println("sluice replay: " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        } catch (ConfigException e) {
            err.println("sluice replay: " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        } catch (IOException e) {
            err.println("sluice replay: cannot write the report: " + e.getMessage());
            err.flush();
            return BAD_INPUT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        }
    }

    /** How the trace's format was chosen, for an error about its content: a wrong guess reads as a bad file. */
    private String guessedNote() {
        return guessed == null ? "" : " (read as " + guessed.cliName() + ", guessed from its first line; --format "
                + "mooncake|azure|sluice|bailian|burstgpt chooses)";
    }

    private Faults faults() {
        return Faults.NONE.withErrorRate(errorRate).withResetRate(resetRate)
                .withStalls(stallRate, Durations.parse(stall))
                .withWarmup(Durations.parse(warmup), 1, Duration.ZERO);
    }

    private Supplier<RequestStream> workload(Optional<Spike> burst) {
        if (source.trace != null) {
            Path file = source.trace;
            if (!Files.isReadable(file)) {
                throw new IllegalArgumentException("cannot read trace " + file);
            }
            TraceFormat fmt = format == null ? TraceFormat.guess(file) : TraceFormat.parse(format);
            guessed = format == null ? fmt : null;
            return () -> new TimeWarp(fmt.open(file, skipBad), speedup, burst, limit);
        }
        LengthSampler sampler = lengths != null ? LengthSampler.fromCsv(lengths)
                : LengthSampler.fixed(inputTokens, outputTokens);
        double gammaCv = switch (arrival) {
            case "poisson" -> 1;
            case "gamma" -> cv;
            default -> throw new IllegalArgumentException("--arrival must be poisson or gamma: " + arrival);
        };
        Workload w = new Workload(source.rate, gammaCv, Durations.parse(duration), sampler, prefixGroups,
                prefixTokens, prefixShare, turns, Durations.parse(thinkTime), adapters, seed);
        return () -> new TimeWarp(new Generator(w), speedup, burst, limit);
    }

    /** For tests: the option names this command accepts. */
    static List<String> optionNames() {
        return Arrays.asList("--trace", "--rate", "--fleet", "--policies");
    }
}
