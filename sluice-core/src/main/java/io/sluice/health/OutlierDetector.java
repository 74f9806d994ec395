package io.sluice.health;

import io.sluice.balance.Pool;
import io.sluice.config.OutlierConfig;
import io.sluice.endpoint.Member;
import io.sluice.resilience.UpstreamFailure;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Passive outlier detection for one pool: ejects endpoints that fail real requests in a row, for longer each time.
 *
 * <p>The algorithm is Envoy's outlier detection (consecutive 5xx and consecutive gateway failure detectors, with
 * local-origin errors not split from external ones), see Envoy's "Outlier detection" architecture overview:
 * <ol>
 *   <li>Every try's outcome is fed in from the data plane. A 5xx counts toward {@code consecutive_errors}; a 502,
 *       503 or 504, a connect failure, a reset or a per-try timeout also count toward
 *       {@code consecutive_gateway_errors}. Any other status resets both counts; a 500 resets the gateway count.</li>
 *   <li>When a count reaches its threshold the endpoint is ejected, unless that would eject more than
 *       {@code max_ejection_percent} of the pool's members; as in Envoy, one endpoint may always be ejected,
 *       whatever the percentage (so a pool of three with the default 10 % can still lose its one bad endpoint).
 *       A refused ejection is counted as an overflow and the counts start again.</li>
 *   <li>The n-th ejection in a row lasts {@code base_ejection × n}, capped at {@code max_ejection}; n stops growing
 *       once the cap is reached, and drops by one for every {@code interval} the endpoint then spends back in
 *       service, so an endpoint that recovered for good is soon treated like a new one again.</li>
 *   <li>An ejection ends when its time is up, at the first {@link #sweep} after that (the proxy calls it on a
 *       timer; the replay calls it in virtual time, {@link #nextUnejectionNanos()} says when). The counts start
 *       again from zero, so a few errors right after return do not eject at once.</li>
 * </ol>
 * Results that arrive while an endpoint is ejected (requests that were in flight, or panic-mode traffic) are
 * ignored: the ejection is already running its course. Active health checks do not end an ejection early; the two
 * verdicts are kept apart in {@link Member} and both must allow traffic.
 *
 * <p>Outcomes are recorded with a lock-free map read and an atomic increment, from any event loop; an ejection or
 * an un-ejection takes the detector's lock, then rebuilds the pool's snapshot (after releasing it).
 */
public final class OutlierDetector {

    private static final Logger log = LoggerFactory.getLogger(OutlierDetector.class);

    /** Which detector ejected an endpoint. */
    public enum Reason {
        /** {@code consecutive_errors} 5xx answers or failures in a row. */
        CONSECUTIVE_ERRORS,
        /** {@code consecutive_gateway_errors} gateway errors (502/503/504, connect failure, reset, timeout). */
        CONSECUTIVE_GATEWAY_ERRORS
    }

    /** Per-member counts. The atomics are written by any event loop; the rest is guarded by the detector. */
    private static final class Tracker {
        final AtomicInteger errors = new AtomicInteger();
        final AtomicInteger gatewayErrors = new AtomicInteger();
        final AtomicLong ejections = new AtomicLong();
        volatile boolean ejected;
        long ejectedUntilNanos;
        int multiplier;
        long quietSinceNanos;

        void resetCounts() {
            errors.set(0);
            gatewayErrors.set(0);
        }
    }

    private final Pool pool;
    private final int errorThreshold;
    private final int gatewayThreshold;
    private final long baseNanos;
    private final long maxNanos;
    private final int maxMultiplier;
    private final int maxEjectionPercent;
    private final long intervalNanos;
    private final Map<Member, Tracker> trackers = new ConcurrentHashMap<>();
    private final LongAdder ejectionsTotal = new LongAdder();
    private final LongAdder overflows = new LongAdder();
    private int activeEjections;

    private OutlierDetector(Pool pool, OutlierConfig config) {
        this.pool = pool;
        this.errorThreshold = config.consecutiveErrors();
        this.gatewayThreshold = config.consecutiveGatewayErrors();
        this.baseNanos = config.baseEjection().toNanos();
        this.maxNanos = config.maxEjection().toNanos();
        this.maxMultiplier = (int) Math.min(Integer.MAX_VALUE, (maxNanos + baseNanos - 1) / baseNanos);
        this.maxEjectionPercent = config.maxEjectionPercent();
        this.intervalNanos = config.interval().toNanos();
    }

    /**
     * Creates the detector of a pool.
     *
     * @param pool     the pool whose members are ejected and whose snapshot is rebuilt
     * @param config   thresholds and ejection times
     * @param previous the detector of the pool this one replaces on a reload: the state of members kept by the
     *                 new pool (running ejections, multipliers, counts) and the pool's totals carry over; or
     *                 empty. The previous detector must no longer be fed.
     */
    public static OutlierDetector of(Pool pool, OutlierConfig config, Optional<OutlierDetector> previous) {
        OutlierDetector detector = new OutlierDetector(Objects.requireNonNull(pool, "pool"),
                Objects.requireNonNull(config, "config"));
        previous.ifPresent(detector::carryOver);
        return detector;
    }

    private void carryOver(OutlierDetector old) {
        ejectionsTotal.add(old.ejectionsTotal.sum());
        overflows.add(old.overflows.sum());
        synchronized (old) {
            for (Member m : pool.members()) {
                Tracker t = old.trackers.get(m);
                if (t != null) {
                    trackers.put(m, t);
                    if (t.ejected) {
                        activeEjections++;
                    }
                }
            }
        }
    }

    /** Records the status of a response from a member (any status: successes reset the counts). */
    public void onResponse(Member member, int status, long nowNanos) {
        Tracker t = tracker(member);
        if (t.ejected) {
            return;
        }
        if (status >= 500 && status <= 599) {
            if (status == 502 || status == 503 || status == 504) {
                countGatewayError(member, t, nowNanos);
            } else if (t.gatewayErrors.get() != 0) {
                t.gatewayErrors.set(0);
            }
            countError(member, t, nowNanos);
        } else {
            // Reading before writing keeps the common case (no error streak) free of shared-cache-line writes.
            if (t.errors.get() != 0) {
                t.errors.set(0);
            }
            if (t.gatewayErrors.get() != 0) {
                t.gatewayErrors.set(0);
            }
        }
    }

    /** Records a try to a member that failed without a response: a gateway error and an error. */
    public void onFailure(Member member, UpstreamFailure failure, long nowNanos) {
        Objects.requireNonNull(failure, "failure");
        Tracker t = tracker(member);
        if (t.ejected) {
            return;
        }
        countGatewayError(member, t, nowNanos);
        countError(member, t, nowNanos);
    }

    private void countGatewayError(Member member, Tracker t, long nowNanos) {
        if (gatewayThreshold > 0 && t.gatewayErrors.incrementAndGet() >= gatewayThreshold) {
            tryEject(member, t, Reason.CONSECUTIVE_GATEWAY_ERRORS, nowNanos);
        }
    }

    private void countError(Member member, Tracker t, long nowNanos) {
        if (errorThreshold > 0 && t.errors.incrementAndGet() >= errorThreshold) {
            tryEject(member, t, Reason.CONSECUTIVE_ERRORS, nowNanos);
        }
    }

    private Tracker tracker(Member member) {
        Tracker t = trackers.get(member);
        return t != null ? t : trackers.computeIfAbsent(member, m -> new Tracker());
    }

    private void tryEject(Member member, Tracker t, Reason reason, long nowNanos) {
        long duration;
        long times;
        synchronized (this) {
            if (t.ejected) {
                return;
            }
            t.resetCounts();
            int size = Math.max(1, pool.members().size());
            boolean allowed = activeEjections == 0 || 100L * (activeEjections + 1) <= (long) maxEjectionPercent * size;
            if (!allowed) {
                overflows.increment();
                log.warn("pool {}: not ejecting {} after {}: {} of {} endpoints already ejected "
                        + "(max_ejection_percent {})", pool.name(), member, describe(reason), activeEjections, size,
                        maxEjectionPercent);
                return;
            }
            decay(t, nowNanos);
            t.multiplier = Math.min(maxMultiplier, t.multiplier + 1);
            duration = Math.min(maxNanos, baseNanos * t.multiplier);
            t.ejectedUntilNanos = nowNanos + duration;
            t.ejected = true;
            activeEjections++;
            times = t.ejections.incrementAndGet();
            ejectionsTotal.increment();
            member.ejectUntil(t.ejectedUntilNanos, nowNanos);
        }
        log.warn("pool {}: ejected {} for {} ms after {} (ejection {} of this endpoint)", pool.name(), member,
                duration / 1_000_000, describe(reason), times);
        pool.rebuild();
    }

    private String describe(Reason reason) {
        return reason == Reason.CONSECUTIVE_ERRORS
                ? errorThreshold + " consecutive errors"
                : gatewayThreshold + " consecutive gateway errors";
    }

    /** Lowers the multiplier by one per full {@code interval} spent back in service (Envoy's backoff decay). */
    private void decay(Tracker t, long nowNanos) {
        if (t.ejected || t.multiplier == 0) {
            return;
        }
        long quiet = nowNanos - t.quietSinceNanos;
        if (quiet >= intervalNanos) {
            long periods = quiet / intervalNanos;
            t.multiplier = (int) Math.max(0, t.multiplier - periods);
            t.quietSinceNanos += periods * intervalNanos;
        }
    }

    /**
     * Ends the ejections whose time is up, forgets members that left the pool, and decays multipliers. The proxy
     * calls it on a timer (every 100 ms is plenty), the replay at {@link #nextUnejectionNanos()}.
     *
     * @return the members returned to service
     */
    public List<Member> sweep(long nowNanos) {
        List<Member> returned = List.of();
        synchronized (this) {
            Set<Member> current = Collections.newSetFromMap(new IdentityHashMap<>());
            current.addAll(pool.members());
            for (var it = trackers.entrySet().iterator(); it.hasNext(); ) {
                var e = it.next();
                Member m = e.getKey();
                Tracker t = e.getValue();
                if (!current.contains(m)) {
                    if (t.ejected) {
                        activeEjections--;
                    }
                    it.remove();
                    continue;
                }
                if (t.ejected && nowNanos >= t.ejectedUntilNanos) {
                    t.ejected = false;
                    t.quietSinceNanos = nowNanos;
                    t.resetCounts();
                    activeEjections--;
                    m.unEject(nowNanos);
                    if (returned.isEmpty()) {
                        returned = new ArrayList<>();
                    }
                    returned.add(m);
                }
                decay(t, nowNanos);
            }
            // Recount rather than trust the running count: trackers carried over on a reload may have been
            // ejected by the previous detector while the in-flight requests of the old config finished.
            int ejectedNow = 0;
            for (Tracker t : trackers.values()) {
                if (t.ejected) {
                    ejectedNow++;
                }
            }
            activeEjections = ejectedNow;
        }
        if (!returned.isEmpty()) {
            for (Member m : returned) {
                log.info("pool {}: the ejection of {} has ended", pool.name(), m);
            }
            pool.rebuild();
        }
        return returned;
    }

    /** When the earliest running ejection ends, or empty if none runs. */
    public synchronized OptionalLong nextUnejectionNanos() {
        long next = Long.MAX_VALUE;
        boolean any = false;
        for (Tracker t : trackers.values()) {
            if (t.ejected) {
                any = true;
                next = Math.min(next, t.ejectedUntilNanos);
            }
        }
        return any ? OptionalLong.of(next) : OptionalLong.empty();
    }

    /** True if the member is ejected now (until the sweep that ends it). */
    public boolean ejected(Member member) {
        Tracker t = trackers.get(member);
        return t != null && t.ejected;
    }

    /** The member's ejection multiplier n: its next ejection lasts {@code base × (n + 1)}, capped. */
    public synchronized int multiplier(Member member, long nowNanos) {
        Tracker t = trackers.get(member);
        if (t == null) {
            return 0;
        }
        decay(t, nowNanos);
        return t.multiplier;
    }

    /** Ejections of the member since it joined the pool ({@code sluice_ejections_total{pool,endpoint}}). */
    public long ejections(Member member) {
        Tracker t = trackers.get(member);
        return t == null ? 0 : t.ejections.get();
    }

    /** Ejections in this pool since the detector was created. */
    public long ejectionsTotal() {
        return ejectionsTotal.sum();
    }

    /** Ejections refused because {@code max_ejection_percent} of the pool was already ejected. */
    public long overflows() {
        return overflows.sum();
    }

    /** Members ejected now. */
    public synchronized int activeEjections() {
        return activeEjections;
    }

    /** The longest an ejection can last, for tests and the admin API. */
    public Duration maxEjection() {
        return Duration.ofNanos(maxNanos);
    }
}
