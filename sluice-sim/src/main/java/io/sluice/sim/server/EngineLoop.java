package io.sluice.sim.server;

import io.sluice.sim.engine.Engine;
import io.sluice.sim.engine.EngineRequest;
import io.sluice.sim.engine.Profile;
import io.sluice.time.Clock;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Drives one {@link Engine} in real time on its own thread: the engine is confined to that thread, requests and
 * aborts are handed to it as tasks, and each iteration is finished by a task scheduled at the iteration's end, so
 * tokens come out with the engine's real pacing. Netty's event loops never wait on it.
 *
 * <p>After every iteration the loop publishes an immutable {@link Snapshot} that the metrics endpoint reads.
 */
final class EngineLoop implements AutoCloseable {

    /** The engine's gauges and counters at the end of an iteration. */
    record Snapshot(int running, int waiting, double kvUsage, long prefixHits, long prefixQueries,
                    long preemptions, long promptTokens, long generationTokens, List<String> runningAdapters,
                    Set<String> waitingAdapters) {
        static final Snapshot EMPTY = new Snapshot(0, 0, 0, 0, 0, 0, 0, 0, List.of(), Set.of());
    }

    private final Engine engine;
    private final ScheduledThreadPoolExecutor executor;
    private volatile Snapshot snapshot = Snapshot.EMPTY;

    EngineLoop(Profile profile, Engine.Options options, String name) {
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        this.executor.setRemoveOnCancelPolicy(true);
        this.engine = Engine.of(profile, options, Clock.system());
    }

    /** True once warm-up is over. */
    boolean ready() {
        return engine.ready();
    }

    /** Hands a request to the engine. */
    void submit(EngineRequest r) {
        executor.execute(() -> {
            engine.submit(r);
            kick();
        });
    }

    /** Tells the engine the client is gone. */
    void abort(EngineRequest r) {
        if (!executor.isShutdown()) {
            executor.execute(() -> {
                engine.abort(r);
                publish();
            });
        }
    }

    /** The latest published state. */
    Snapshot snapshot() {
        return snapshot;
    }

    Profile profile() {
        return engine.profile();
    }

    private void kick() {
        if (!engine.inFlight() && engine.hasWork()) {
            long end = engine.startIteration();
            if (end >= 0) {
                executor.schedule(this::finish, Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        }
        publish();
    }

    private void finish() {
        engine.finishIteration();
        kick();
    }

    private void publish() {
        snapshot = new Snapshot(engine.running(), engine.waiting(), engine.kvUsage(), engine.prefixHitTokens(),
                engine.prefixQueryTokens(), engine.preemptions(), engine.promptTokens(), engine.generationTokens(),
                engine.runningAdapters(), engine.waitingAdapters());
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
