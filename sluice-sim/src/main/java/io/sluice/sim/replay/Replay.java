package io.sluice.sim.replay;

import io.sluice.sim.trace.RequestStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Replays one workload against a simulated fleet once per policy and collects the results.
 *
 * <p>Each policy gets its own fleet, pool, clock and fresh workload stream, so runs are independent and can go in
 * parallel (one thread each, up to {@link ReplayConfig#threads()}); with the same seed a run's result does not
 * depend on how many run at once. While they run, a progress line is rewritten on the given stream.
 */
public final class Replay {

    private final ReplayConfig config;
    private final Supplier<RequestStream> workload;

    /**
     * A replay.
     *
     * @param workload opens the workload afresh (called once per policy)
     */
    public Replay(ReplayConfig config, Supplier<RequestStream> workload) {
        this.config = config;
        this.workload = workload;
    }

    /**
     * Runs every policy, quietly.
     *
     * @throws IllegalArgumentException if a policy is unknown or unavailable (before anything runs)
     */
    public ReplayReport run(String traceName) throws InterruptedException {
        return run(traceName, Optional.empty());
    }

    /**
     * Runs every policy, rewriting a progress line on {@code progress} (a terminal's stderr) while they run.
     *
     * @throws IllegalArgumentException if a policy is unknown or unavailable (before anything runs)
     */
    public ReplayReport run(String traceName, PrintStream progress) throws InterruptedException {
        return run(traceName, Optional.of(progress));
    }

    private ReplayReport run(String traceName, Optional<PrintStream> progress) throws InterruptedException {
        List<String> policies = config.policies();
        for (String p : policies) {
            config.routing().create(PolicyRun.poolConfig(p, config.fleet().servers().subList(0, 1),
                            config.poolSettings()),
                    () -> new java.util.SplittableRandom(1), io.sluice.time.ManualClock.start());
        }
        List<AtomicLong> counts = new ArrayList<>();
        List<AtomicLong> clocks = new ArrayList<>();
        List<Future<PolicyResult>> futures = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(config.threads(), policies.size()), r -> {
            Thread t = new Thread(r, "replay");
            t.setDaemon(true);
            return t;
        });
        long start = System.nanoTime();
        try {
            for (String p : policies) {
                AtomicLong count = new AtomicLong();
                AtomicLong virtual = new AtomicLong();
                counts.add(count);
                clocks.add(virtual);
                futures.add(pool.submit(() -> new PolicyRun(p, config, workload, count, virtual).run()));
            }
            List<PolicyResult> results = new ArrayList<>();
            for (Future<PolicyResult> f : futures) {
                while (true) {
                    try {
                        results.add(f.get(500, TimeUnit.MILLISECONDS));
                        break;
                    } catch (java.util.concurrent.TimeoutException e) {
                        printProgress(progress, policies, counts, clocks, start);
                    }
                }
            }
            progress.ifPresent(p -> {
                p.print("\r\033[K");
                p.flush();
            });
            long requests = results.isEmpty() ? 0 : results.get(0).requests();
            return new ReplayReport(traceName, config.fleet().spec(), requests, config.sloTtft(), config.seed(),
                    results, System.nanoTime() - start, config.poolSettings());
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(cause);
        } finally {
            pool.shutdownNow();
        }
    }

    private static void printProgress(Optional<PrintStream> progress, List<String> policies,
                                      List<AtomicLong> counts, List<AtomicLong> clocks, long start) {
        if (progress.isEmpty()) {
            return;
        }
        PrintStream out = progress.get();
        StringBuilder b = new StringBuilder("\r\033[Kreplaying");
        long total = 0;
        for (int i = 0; i < policies.size(); i++) {
            long n = counts.get(i).get();
            total += n;
            b.append(String.format(Locale.ROOT, " | %s %,d req @%.0fs", policies.get(i), n,
                    clocks.get(i).get() / 1e9));
        }
        double wall = (System.nanoTime() - start) / 1e9;
        b.append(String.format(Locale.ROOT, " | %,.0f req/s wall", total / Math.max(wall, 1e-3)));
        out.print(b);
        out.flush();
    }
}
