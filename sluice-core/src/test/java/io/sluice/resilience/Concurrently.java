package io.sluice.resilience;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/** Runs a body on several real threads at once, each a bounded number of times, and rethrows the first failure. */
final class Concurrently {

    private Concurrently() {
    }

    /** Runs {@code body(threadIndex)} {@code iterations} times on each of {@code threads} threads. */
    static void run(int threads, int iterations, IntConsumer body) throws InterruptedException {
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int index = t;
            Thread w = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < iterations && failure.get() == null; i++) {
                        body.accept(index);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "concurrently-" + t);
            w.start();
            workers.add(w);
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(w.isAlive()).as("worker finished in time").isFalse();
        }
        if (failure.get() != null) {
            throw new AssertionError("a worker failed", failure.get());
        }
    }
}
