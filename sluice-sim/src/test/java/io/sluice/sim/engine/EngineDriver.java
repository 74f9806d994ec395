package io.sluice.sim.engine;

import io.sluice.time.ManualClock;

/** Runs an engine in virtual time for tests: iteration after iteration until it is idle. */
final class EngineDriver {

    final ManualClock clock = ManualClock.start();
    final Engine engine;
    final Recorder recorder = new Recorder();
    int iterations;

    EngineDriver(Profile profile, Faults faults, long seed, boolean fuse) {
        engine = Engine.of(profile, new Engine.Options(faults, seed, fuse), clock);
    }

    EngineDriver(Profile profile) {
        this(profile, Faults.NONE, 1, false);
    }

    EngineRequest submit(long id, int prompt, int output, long[] hashes) {
        EngineRequest r = EngineRequest.of(id, prompt, output, hashes, java.util.Optional.empty(), recorder);
        engine.submit(r);
        return r;
    }

    /** One iteration; false if idle. */
    boolean step() {
        long end = engine.startIteration();
        if (end < 0) {
            return false;
        }
        clock.setNanos(end);
        engine.finishIteration();
        iterations++;
        return true;
    }

    /** Runs until idle, at most {@code max} iterations. */
    void runToIdle(int max) {
        for (int i = 0; i < max; i++) {
            if (!step()) {
                return;
            }
        }
        throw new AssertionError("engine still busy after " + max + " iterations");
    }
}
