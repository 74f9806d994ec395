package io.sluice.health;

import io.sluice.balance.Pool;
import io.sluice.config.HealthCheckConfig;
import io.sluice.endpoint.Member;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The active health check of one endpoint: turns probe results into a passing / not-passing verdict and says when
 * the next probe is due. The prober (a timer on an event loop, or the replay's event queue) owns the I/O; this
 * class only decides.
 *
 * <p>The state machine is HAProxy's {@code rise}/{@code fall} counting with Envoy's first-check rule:
 * <ul>
 *   <li>{@link State#HEALTHY} becomes {@link State#UNHEALTHY} after {@code unhealthy_threshold} failures in a row
 *       (a timeout is a failure); {@code UNHEALTHY} becomes {@code HEALTHY} after {@code healthy_threshold} passes
 *       in a row. Any opposite result resets the count.</li>
 *   <li>A new endpoint of a checked pool starts {@link State#PENDING}: it takes no traffic until it passes (the
 *       warm-up of a readiness probe). Its <em>first</em> result decides at once: a pass makes it healthy, a
 *       failure makes it unhealthy, and from then on the thresholds apply. This is Envoy's rule ("the first check
 *       result of a new host is trusted, so start-up is fast"); a backend that is still warming up answers its
 *       first probe with 503 and then needs {@code healthy_threshold} passes, so a flapping one is not let in by
 *       a single lucky probe.</li>
 *   <li>An endpoint that already passes when its checker is created (a pool that had no check before a reload,
 *       or a member kept across a reload) starts {@code HEALTHY}: adding a check never takes a serving endpoint
 *       out of service by itself.</li>
 * </ul>
 *
 * <p>Probe timing follows HAProxy's {@code inter}/{@code fastinter}/{@code downinter}: {@code interval} while
 * healthy, {@code unhealthy_interval} while unhealthy and while a healthy endpoint is failing (so a dead backend is
 * confirmed after {@code interval + (unhealthy_threshold - 1) × unhealthy_interval}, never more than
 * {@code interval × unhealthy_threshold}). Every delay is spread by ± {@code jitter} × itself, uniformly, from an
 * injected random source, so probes of many endpoints do not align (HAProxy's {@code spread-checks}). The very
 * first probe of a pending endpoint is due within {@code jitter × interval}, so a new endpoint is checked at once.
 *
 * <p>A verdict change sets {@link Member#setCheckPassing} and rebuilds the pool's snapshot; nothing else does, so
 * a steady stream of probe results costs no rebuild. On a config reload the checker of a kept endpoint is replaced
 * by one bound to the new pool that {@linkplain #of(Pool, Member, HealthCheckConfig, RandomGenerator, Optional)
 * carries over} its state and counts, so a reload neither lets an unhealthy endpoint in early nor restarts a
 * failure streak. Methods are synchronized: results for one endpoint come from
 * one prober, but the admin API reads the state from other threads.
 */
public final class HealthChecker {

    /** Where the endpoint stands. */
    public enum State {
        /** A new endpoint, never probed: no traffic yet. */
        PENDING,
        /** Passing: takes traffic. */
        HEALTHY,
        /** Failing: takes no traffic (unless the pool panics). */
        UNHEALTHY
    }

    /** What a probe result changed for the endpoint's traffic. */
    public enum Transition {
        /** Nothing: the endpoint takes traffic, or does not, as before. */
        NONE,
        /** The endpoint started passing and now takes traffic. */
        UP,
        /** The endpoint stopped passing and takes no more new traffic. */
        DOWN
    }

    private final Pool pool;
    private final Member member;
    private final RandomGenerator random;
    private final HealthCheckConfig config;
    private final long intervalNanos;
    private final long unhealthyIntervalNanos;
    private final double jitter;
    private final int healthyThreshold;
    private final int unhealthyThreshold;

    private State state;
    private boolean probed;
    private int consecutivePasses;
    private int consecutiveFailures;
    private long probes;
    private long failures;
    private long timeouts;
    private long lastResultNanos;

    private HealthChecker(Pool pool, Member member, HealthCheckConfig config, RandomGenerator random) {
        this.pool = pool;
        this.member = member;
        this.random = random;
        this.config = config;
        this.intervalNanos = config.interval().toNanos();
        this.unhealthyIntervalNanos = config.unhealthyInterval().toNanos();
        this.jitter = config.jitter();
        this.healthyThreshold = config.healthyThreshold();
        this.unhealthyThreshold = config.unhealthyThreshold();
        this.state = member.checkPassing() ? State.HEALTHY : State.PENDING;
    }

    /**
     * Creates the checker of one member of a pool.
     *
     * @param pool   the pool to rebuild when the verdict changes
     * @param member the endpoint checked; it starts {@link State#PENDING} unless it already passes
     * @param config intervals, thresholds and jitter
     * @param random the source of jitter: a seeded generator in tests and replay; confined to this checker
     */
    public static HealthChecker of(Pool pool, Member member, HealthCheckConfig config, RandomGenerator random) {
        return new HealthChecker(Objects.requireNonNull(pool, "pool"), Objects.requireNonNull(member, "member"),
                Objects.requireNonNull(config, "config"), Objects.requireNonNull(random, "random"));
    }

    /**
     * Creates the checker of a member kept by a reloaded pool, carrying over the previous checker's state, streaks
     * and counts (the new config's intervals and thresholds apply from the next result on).
     *
     * @param pool     the new pool
     * @param member   the endpoint checked: the same member the previous checker checked
     * @param config   the new config
     * @param random   the source of jitter
     * @param previous the checker it replaces, which must no longer be fed; or empty for a new endpoint
     */
    public static HealthChecker of(Pool pool, Member member, HealthCheckConfig config, RandomGenerator random,
                                   Optional<HealthChecker> previous) {
        HealthChecker checker = of(pool, member, config, random);
        previous.ifPresent(old -> {
            if (old.member != member) {
                throw new IllegalArgumentException("a checker carries over only for the same member: " + old.member
                        + " != " + member);
            }
            checker.carryOver(old);
        });
        return checker;
    }

    private void carryOver(HealthChecker old) {
        synchronized (old) {
            synchronized (this) {
                state = old.state;
                probed = old.probed;
                consecutivePasses = old.consecutivePasses;
                consecutiveFailures = old.consecutiveFailures;
                probes = old.probes;
                failures = old.failures;
                timeouts = old.timeouts;
                lastResultNanos = old.lastResultNanos;
            }
        }
    }

    /** The endpoint checked. */
    public Member member() {
        return member;
    }

    /** How long a probe may take before it counts as a failure. */
    public Duration timeout() {
        return config.timeout();
    }

    /** True if an HTTP probe answered with this status passes. */
    public boolean expectedStatus(int status) {
        return config.expected(status);
    }

    /**
     * The time to wait before the next probe, jittered: within {@code jitter × interval} for the first probe of a
     * pending endpoint, else {@code interval} or {@code unhealthy_interval} (see the class comment) ± jitter.
     */
    public synchronized Duration nextProbeDelay() {
        if (state == State.PENDING && !probed) {
            return Duration.ofNanos((long) (intervalNanos * jitter * random.nextDouble()));
        }
        boolean fast = state != State.HEALTHY || consecutiveFailures > 0;
        long base = fast ? unhealthyIntervalNanos : intervalNanos;
        double spread = jitter * (2 * random.nextDouble() - 1);
        return Duration.ofNanos(Math.max(0, Math.round(base * (1 + spread))));
    }

    /**
     * Records a probe result and applies the verdict.
     *
     * @param passed   true if the probe passed (connected, or answered an expected status in time)
     * @param nowNanos the clock reading when the result arrived
     * @return whether the endpoint started or stopped taking traffic
     */
    public synchronized Transition onResult(boolean passed, long nowNanos) {
        probes++;
        lastResultNanos = nowNanos;
        boolean first = !probed;
        probed = true;
        if (passed) {
            consecutiveFailures = 0;
            consecutivePasses++;
            if (state == State.PENDING || (state == State.UNHEALTHY && consecutivePasses >= healthyThreshold)) {
                return apply(State.HEALTHY, nowNanos);
            }
        } else {
            failures++;
            consecutivePasses = 0;
            consecutiveFailures++;
            if (state == State.PENDING && first) {
                // The first result decides; the endpoint was not taking traffic anyway.
                state = State.UNHEALTHY;
                return Transition.NONE;
            }
            if (state == State.HEALTHY && consecutiveFailures >= unhealthyThreshold) {
                return apply(State.UNHEALTHY, nowNanos);
            }
        }
        return Transition.NONE;
    }

    /** Records a probe that did not finish within {@link #timeout()}: a failure, counted apart for diagnosis. */
    public synchronized Transition onTimeout(long nowNanos) {
        timeouts++;
        return onResult(false, nowNanos);
    }

    private Transition apply(State next, long nowNanos) {
        state = next;
        consecutivePasses = 0;
        consecutiveFailures = 0;
        boolean passing = next == State.HEALTHY;
        member.setCheckPassing(passing, nowNanos);
        pool.rebuild();
        return passing ? Transition.UP : Transition.DOWN;
    }

    /** The current state. */
    public synchronized State state() {
        return state;
    }

    /** Passes in a row since the last failure or transition. */
    public synchronized int consecutivePasses() {
        return consecutivePasses;
    }

    /** Failures in a row since the last pass or transition. */
    public synchronized int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Probe results recorded, for the admin API. */
    public synchronized long probes() {
        return probes;
    }

    /** Failed probes recorded (timeouts included). */
    public synchronized long failures() {
        return failures;
    }

    /** Probes that timed out. */
    public synchronized long timeouts() {
        return timeouts;
    }

    /** When the last result arrived; meaningful once {@link #probes()} is positive. */
    public synchronized long lastResultNanos() {
        return lastResultNanos;
    }

    @Override
    public synchronized String toString() {
        return "HealthChecker[" + member + " " + state + ", passes=" + consecutivePasses + ", failures="
                + consecutiveFailures + "]";
    }
}
