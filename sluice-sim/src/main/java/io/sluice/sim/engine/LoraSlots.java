package io.sluice.sim.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * LoRA adapters resident on the GPU, as vLLM's LRU adapter cache keeps them.
 *
 * <p>The running batch may use at most {@code max_loras} distinct adapters; an adapter that is not resident is
 * loaded (evicting the least recently used adapter that no running request uses) and the load delays the
 * iteration that needed it. A waiting request whose adapter cannot get a slot waits while others pass it.
 */
final class LoraSlots {

    private final int capacity;
    private final Map<String, Integer> ids = new HashMap<>();
    private final List<String> names = new ArrayList<>();
    private int[] running = new int[4];
    /** Resident adapter ids, least recently used first. */
    private final List<Integer> resident = new ArrayList<>();
    private int activeCount;
    private long loads;

    LoraSlots(int capacity) {
        this.capacity = capacity;
    }

    int id(String adapter) {
        Integer id = ids.get(adapter);
        if (id == null) {
            id = names.size();
            ids.put(adapter, id);
            names.add(adapter);
            if (id >= running.length) {
                running = java.util.Arrays.copyOf(running, running.length * 2);
            }
        }
        return id;
    }

    String name(int id) {
        return names.get(id);
    }

    /** True if a request of this adapter could join the running batch now. */
    boolean admissible(int id) {
        return id < 0 || running[id] > 0 || (capacity > 0 && activeCount < capacity);
    }

    /**
     * Marks one more running request of the adapter.
     *
     * @return true if the adapter had to be loaded
     */
    boolean start(int id) {
        if (id < 0) {
            return false;
        }
        if (running[id]++ == 0) {
            activeCount++;
        }
        int at = resident.indexOf(id);
        if (at >= 0) {
            resident.remove(at);
            resident.add(id);
            return false;
        }
        if (resident.size() >= capacity) {
            for (int i = 0; i < resident.size(); i++) {
                if (running[resident.get(i)] == 0) {
                    resident.remove(i);
                    break;
                }
            }
        }
        resident.add(id);
        loads++;
        return true;
    }

    void stop(int id) {
        if (id >= 0 && --running[id] == 0) {
            activeCount--;
        }
    }

    /** Names of the adapters used by running requests. */
    List<String> runningAdapters() {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            if (running[i] > 0) {
                out.add(names.get(i));
            }
        }
        return out;
    }

    /** Names of resident adapters. */
    List<String> residentAdapters() {
        List<String> out = new ArrayList<>(resident.size());
        for (int id : resident) {
            out.add(names.get(id));
        }
        return out;
    }

    int capacity() {
        return capacity;
    }

    long loads() {
        return loads;
    }
}
