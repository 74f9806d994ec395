package io.sluice.time;

/** The real clock: {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
enum SystemClock implements Clock {
    INSTANCE;

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
        return System.currentTimeMillis();
    }
}
