package io.sluice.sim.engine;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Records what an engine says, for assertions. */
final class Recorder implements EngineListener {

    final Map<Long, Long> firstToken = new LinkedHashMap<>();
    final Map<Long, Integer> tokens = new LinkedHashMap<>();
    final Map<Long, Long> finished = new LinkedHashMap<>();
    final Map<Long, Failure> failed = new LinkedHashMap<>();
    final List<String> timeline = new ArrayList<>();

    @Override
    public void onTokens(EngineRequest r, int newTokens, long nowNanos) {
        if (!tokens.containsKey(r.id())) {
            firstToken.put(r.id(), nowNanos);
        }
        tokens.merge(r.id(), newTokens, Integer::sum);
        timeline.add(nowNanos + " tok " + r.id() + " +" + newTokens);
    }

    @Override
    public void onFinished(EngineRequest r, long nowNanos) {
        finished.put(r.id(), nowNanos);
        timeline.add(nowNanos + " fin " + r.id());
    }

    @Override
    public void onFailed(EngineRequest r, Failure failure, long nowNanos) {
        failed.put(r.id(), failure);
        timeline.add(nowNanos + " fail " + r.id() + " " + failure);
    }
}
