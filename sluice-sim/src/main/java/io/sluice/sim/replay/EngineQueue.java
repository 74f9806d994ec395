package io.sluice.sim.replay;

import java.util.Arrays;

/**
 * A min-heap of the engines' next event times, indexed by engine so that an engine's time can be moved (a new
 * arrival cuts its fused step short) in O(log n). Ties go to the lower engine index, for determinism.
 */
final class EngineQueue {

    private final int[] heap;
    private final int[] position;
    private final long[] time;
    private int size;

    EngineQueue(int engines) {
        heap = new int[engines];
        position = new int[engines];
        time = new long[engines];
        Arrays.fill(position, -1);
    }

    boolean isEmpty() {
        return size == 0;
    }

    int peek() {
        return heap[0];
    }

    long peekTime() {
        return size == 0 ? Long.MAX_VALUE : time[heap[0]];
    }

    /** Sets an engine's time, adding it if absent. */
    void set(int engine, long at) {
        int p = position[engine];
        if (p < 0) {
            p = size++;
            heap[p] = engine;
            position[engine] = p;
            time[engine] = at;
            up(p);
            return;
        }
        long old = time[engine];
        time[engine] = at;
        if (at < old) {
            up(p);
        } else {
            down(p);
        }
    }

    void remove(int engine) {
        int p = position[engine];
        if (p < 0) {
            return;
        }
        int last = heap[--size];
        position[engine] = -1;
        if (p == size) {
            return;
        }
        heap[p] = last;
        position[last] = p;
        up(p);
        down(position[last]);
    }

    boolean contains(int engine) {
        return position[engine] >= 0;
    }

    private boolean less(int a, int b) {
        long ta = time[a];
        long tb = time[b];
        return ta < tb || (ta == tb && a < b);
    }

    private void up(int p) {
        int e = heap[p];
        while (p > 0) {
            int parent = (p - 1) >>> 1;
            int pe = heap[parent];
            if (!less(e, pe)) {
                break;
            }
            heap[p] = pe;
            position[pe] = p;
            p = parent;
        }
        heap[p] = e;
        position[e] = p;
    }

    private void down(int p) {
        int e = heap[p];
        while (true) {
            int c = 2 * p + 1;
            if (c >= size) {
                break;
            }
            if (c + 1 < size && less(heap[c + 1], heap[c])) {
                c++;
            }
            if (!less(heap[c], e)) {
                break;
            }
            heap[p] = heap[c];
            position[heap[p]] = p;
            p = c;
        }
        heap[p] = e;
        position[e] = p;
    }
}
