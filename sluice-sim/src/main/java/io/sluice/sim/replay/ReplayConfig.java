package io.sluice.sim.replay;

import io.sluice.sim.engine.Faults;
import java.nio.file.Path;
import java.time.Duration;
import io.sluice.sim.trace.Spike;
import java.util.List;
import java.util.Optional;
import java.util.Objects;

/**
 * How to replay a workload.
 *
 * @param fleet          the simulated servers
 * @param policies       policy names (DESIGN.md §6), one replay each
 * @param seed           seed of every random draw (policies, faults)
 * @param sloTtft        the time-to-first-token objective for the attainment column
 * @param scrapeInterval how often the router's scraper reads each engine's metrics
 * @param scrapeDelay    how long a reading takes to reach the router
 * @param faults         failures injected into every engine
 * @param routing        builds each policy (and its metrics sink)
 * @param threads        policies replayed at once (each on its own thread)
 * @param spike          a burst whose window gets its own latency figures (the workload must apply it too)
 * @param poolSettings   settings of the replayed pools ({@code inference:} for the policies that take it)
 * @param requestLog     a directory to write {@code requests-<policy>.csv} to, one row per request
 */
public record ReplayConfig(Fleet fleet, List<String> policies, long seed, Duration sloTtft, Duration scrapeInterval,
                           Duration scrapeDelay, Faults faults, RoutingFactory routing, int threads,
                           Optional<Spike> spike, PoolSettings poolSettings, Optional<Path> requestLog) {

    /** Checks the fields. */
    public ReplayConfig {
        Objects.requireNonNull(fleet, "fleet");
        policies = List.copyOf(policies);
        if (policies.isEmpty()) {
            throw new IllegalArgumentException("name at least one policy");
        }
        if (sloTtft.isNegative() || sloTtft.isZero()) {
            throw new IllegalArgumentException("the TTFT objective must be above 0");
        }
        if (scrapeInterval.isNegative() || scrapeInterval.isZero() || scrapeDelay.isNegative()) {
            throw new IllegalArgumentException("scrape interval must be above 0 and delay at least 0");
        }
        Objects.requireNonNull(faults, "faults");
        Objects.requireNonNull(routing, "routing");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1");
        }
        Objects.requireNonNull(spike, "spike");
        Objects.requireNonNull(poolSettings, "poolSettings");
        Objects.requireNonNull(requestLog, "requestLog");
        if (requestLog.isPresent() && policies.stream().distinct().count() < policies.size()) {
            throw new IllegalArgumentException("a policy is named twice; each writes requests-<policy>.csv once");
        }
        if (poolSettings.hasInference() && policies.stream().noneMatch(poolSettings::appliesTo)) {
            throw new IllegalArgumentException(poolSettings.source() + ": the inference block applies to policies "
                    + "inference, llm-d and sglang-cache-aware; " + String.join(", ", policies)
                    + (policies.size() == 1 ? " takes" : " take") + " no inference settings");
        }
    }

    /** Defaults: seed 1, 3 s TTFT objective, 100 ms scrapes delivered 10 ms late, no faults, one thread per core. */
    public static ReplayConfig of(Fleet fleet, List<String> policies) {
        return new ReplayConfig(fleet, policies, 1, Duration.ofSeconds(3), Duration.ofMillis(100),
                Duration.ofMillis(10), Faults.NONE, RoutingFactory.BALANCERS,
                Math.max(1, Runtime.getRuntime().availableProcessors()), Optional.empty(), PoolSettings.NONE,
                Optional.empty());
    }

    /** A copy with another seed. */
    public ReplayConfig withSeed(long value) {
        return new ReplayConfig(fleet, policies, value, sloTtft, scrapeInterval, scrapeDelay, faults, routing,
                threads, spike, poolSettings, requestLog);
    }

    /** A copy with another TTFT objective. */
    public ReplayConfig withSloTtft(Duration value) {
        return new ReplayConfig(fleet, policies, seed, value, scrapeInterval, scrapeDelay, faults, routing,
                threads, spike, poolSettings, requestLog);
    }

    /** A copy with other scrape timing. */
    public ReplayConfig withScrapes(Duration interval, Duration delay) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, interval, delay, faults, routing, threads, spike,
                poolSettings, requestLog);
    }

    /** A copy with injected faults. */
    public ReplayConfig withFaults(Faults value) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, value, routing,
                threads, spike, poolSettings, requestLog);
    }

    /** A copy with another routing factory. */
    public ReplayConfig withRouting(RoutingFactory value) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, faults, value,
                threads, spike, poolSettings, requestLog);
    }

    /** A copy that reports the window of a burst separately. */
    public ReplayConfig withSpike(Optional<Spike> value) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, faults, routing,
                threads, value, poolSettings, requestLog);
    }

    /** A copy with settings for the replayed pools. */
    public ReplayConfig withPoolSettings(PoolSettings value) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, faults, routing,
                threads, spike, value, requestLog);
    }

    /** A copy that writes {@code requests-<policy>.csv} for every policy into a directory (or not). */
    public ReplayConfig withRequestLog(Optional<Path> directory) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, faults, routing,
                threads, spike, poolSettings, directory);
    }

    /** A copy with another thread count. */
    public ReplayConfig withThreads(int value) {
        return new ReplayConfig(fleet, policies, seed, sloTtft, scrapeInterval, scrapeDelay, faults, routing,
                value, spike, poolSettings, requestLog);
    }
}
