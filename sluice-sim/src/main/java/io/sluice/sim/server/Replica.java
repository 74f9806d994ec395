package io.sluice.sim.server;

import io.sluice.sim.engine.Engine;
import io.sluice.sim.engine.Profile;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/** One simulated server: its engine loop, its metrics and what it serves. */
final class Replica implements AutoCloseable {

    final EngineLoop loop;
    final SimMetrics metrics;
    final String model;
    final Set<String> adapters;
    final List<String> adapterList;
    final int defaultMaxTokens;
    final long createdSeconds = System.currentTimeMillis() / 1000;
    private final AtomicLong ids = new AtomicLong();

    Replica(SimOptions options, int index) {
        Profile profile = options.profile();
        this.loop = new EngineLoop(profile, new Engine.Options(options.faults(), options.seed() + index, false),
                "sim-engine-" + index);
        this.model = options.model();
        this.adapterList = options.adapters();
        this.adapters = Set.copyOf(options.adapters());
        this.defaultMaxTokens = options.defaultMaxTokens();
        this.metrics = new SimMetrics(model, profile, loop::snapshot);
    }

    long nextId() {
        return ids.incrementAndGet();
    }

    Profile profile() {
        return loop.profile();
    }

    @Override
    public void close() {
        loop.close();
    }
}
