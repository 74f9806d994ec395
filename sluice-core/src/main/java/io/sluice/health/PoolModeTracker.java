package io.sluice.health;

import io.sluice.balance.Pool;
import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.EndpointSet.Mode;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLongArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts and logs a pool's changes of {@link EndpointSet.Mode}: when it falls back to its backups, panics, or has
 * no endpoint left, and when it recovers.
 *
 * <p>The modes themselves are decided by {@link EndpointSet} (Envoy's panic threshold: when fewer than
 * {@code panic_threshold} of the enabled primaries are usable, every enabled primary gets traffic again, since a
 * health check or outlier detector gone wrong is likelier than the whole fleet being down; HAProxy's
 * {@code backup} servers for the backup mode). This class only watches: it subscribes to {@link Pool#onChange},
 * compares the new snapshot's mode with the last one seen, and counts each entry into a mode so the proxy can
 * export it and the replay can report it. Entering {@code PANIC} or {@code EMPTY} is logged as a warning.
 */
public final class PoolModeTracker {

    private static final Logger log = LoggerFactory.getLogger(PoolModeTracker.class);
    private static final Mode[] MODES = Mode.values();

    private final Pool pool;
    private final AtomicLongArray entries = new AtomicLongArray(MODES.length);
    private Mode current;

    private PoolModeTracker(Pool pool) {
        this.pool = pool;
        this.current = pool.snapshot().mode();
    }

    /** Starts watching a pool; its current mode is the starting point and is not counted as an entry. */
    public static PoolModeTracker watch(Pool pool) {
        return watch(pool, Optional.empty());
    }

    /**
     * Starts watching the pool that replaces another on a reload: the entry counts carry over, so the exported
     * counters never go back, and a mode different from the previous pool's last one counts as an entry.
     */
    public static PoolModeTracker watch(Pool pool, Optional<PoolModeTracker> previous) {
        PoolModeTracker tracker = new PoolModeTracker(Objects.requireNonNull(pool, "pool"));
        previous.ifPresent(old -> {
            for (Mode m : MODES) {
                tracker.entries.set(m.ordinal(), old.entries(m));
            }
            Mode last = old.current();
            synchronized (tracker) {
                tracker.current = last;
            }
        });
        pool.onChange(p -> tracker.check());
        tracker.check();
        return tracker;
    }

    /**
     * Compares the pool's mode with the last one seen; counts and logs a change. Called after every rebuild;
     * reading the pool's latest snapshot under this object's lock keeps concurrent rebuilds from being seen out of
     * order.
     */
    synchronized void check() {
        EndpointSet snapshot = pool.snapshot();
        Mode mode = snapshot.mode();
        if (mode == current) {
            return;
        }
        Mode previous = current;
        current = mode;
        entries.incrementAndGet(mode.ordinal());
        switch (mode) {
            case PANIC -> log.warn("pool {}: panic mode, too few usable endpoints ({} members): sending to every "
                    + "enabled endpoint, usable or not", pool.name(), snapshot.members().size());
            case EMPTY -> log.warn("pool {}: no usable endpoint ({} members); requests fail with 503",
                    pool.name(), snapshot.members().size());
            case BACKUP -> log.warn("pool {}: too few usable primaries, backups take traffic ({} candidates)",
                    pool.name(), snapshot.size());
            case NORMAL -> log.info("pool {}: back to normal after {} ({} candidates)", pool.name(), previous,
                    snapshot.size());
        }
    }

    /** The mode last seen. */
    public synchronized Mode current() {
        return current;
    }

    /** How many times the pool entered the mode since watching began. */
    public long entries(Mode mode) {
        return entries.get(mode.ordinal());
    }

    /** Every mode's entry count, for metrics. */
    public Map<Mode, Long> entries() {
        Map<Mode, Long> all = new EnumMap<>(Mode.class);
        for (Mode m : MODES) {
            all.put(m, entries.get(m.ordinal()));
        }
        return all;
    }
}
