package io.sluice.endpoint;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An immutable snapshot of a pool: every member, and the candidates a policy may choose among, with their
 * effective weights.
 *
 * <p>This is where health, drain, backups, panic mode and slow start are applied, once, for every policy
 * (Armeria's {@code HealthCheckedEndpointGroup} and Envoy's host-set / priority handling play this role there):
 * <ol>
 *   <li>Usable primaries are members that pass their health check, are not ejected and are not draining.</li>
 *   <li>If no primary is usable, or fewer than {@code panicThreshold} of the enabled primaries, usable backups
 *       join the candidates (HAProxy's {@code backup} servers).</li>
 *   <li>If usable primaries are still too few and no backup can take over, the pool is in <em>panic</em>: every enabled primary is a candidate, so a health check gone wrong
 *       cannot take the whole pool down (Envoy's panic threshold).</li>
 *   <li>An endpoint that became usable less than {@code slowStart} ago gets its weight scaled by
 *       {@code max(floor, elapsed/slowStart)} (Envoy's slow start, aggression 1).</li>
 * </ol>
 * A change of membership or state publishes a new snapshot; policies build their per-snapshot state from it.
 */
public final class EndpointSet {

    /** Why the candidates are what they are. */
    public enum Mode {
        /** Usable primaries. */
        NORMAL,
        /** No usable primary: usable backups. */
        BACKUP,
        /** Too few usable primaries: every enabled primary, usable or not. */
        PANIC,
        /** No candidate at all. */
        EMPTY
    }

    /** How to build a snapshot. */
    public record Options(double panicThreshold, Duration slowStart, double slowStartFloor) {
        /** No panic mode, no slow start. */
        public static final Options DEFAULT = new Options(0, Duration.ZERO, 0.1);

        /** Validates the options. */
        public Options {
            if (panicThreshold < 0 || panicThreshold > 1) {
                throw new IllegalArgumentException("panicThreshold must be within [0, 1]: " + panicThreshold);
            }
            if (slowStartFloor <= 0 || slowStartFloor > 1) {
                throw new IllegalArgumentException("slowStartFloor must be within (0, 1]: " + slowStartFloor);
            }
        }
    }

    private final List<Member> members;
    private final List<Member> candidates;
    private final double[] weights;
    private final Mode mode;
    private final long builtAtNanos;
    private final boolean ramping;

    private EndpointSet(List<Member> members, List<Member> candidates, double[] weights, Mode mode,
                        long builtAtNanos, boolean ramping) {
        this.members = members;
        this.candidates = candidates;
        this.weights = weights;
        this.mode = mode;
        this.builtAtNanos = builtAtNanos;
        this.ramping = ramping;
    }

    /** Builds a snapshot of the given members at the given time. */
    public static EndpointSet of(List<Member> members, long nowNanos, Options options) {
        List<Member> primaries = new ArrayList<>();
        List<Member> usablePrimaries = new ArrayList<>();
        List<Member> usableBackups = new ArrayList<>();
        for (Member m : members) {
            boolean usable = m.usable(nowNanos);
            if (m.endpoint().backup()) {
                if (usable) {
                    usableBackups.add(m);
                }
            } else if (m.adminState() == AdminState.ENABLED) {
                primaries.add(m);
                if (usable) {
                    usablePrimaries.add(m);
                }
            }
        }
        List<Member> chosen;
        Mode mode;
        boolean enough = usablePrimaries.size() >= options.panicThreshold() * primaries.size();
        if (!usablePrimaries.isEmpty() && enough) {
            chosen = usablePrimaries;
            mode = Mode.NORMAL;
        } else if (!usableBackups.isEmpty()) {
            // No primary, or too few: backups take the load (with whatever primaries still work).
            chosen = new ArrayList<>(usablePrimaries);
            chosen.addAll(usableBackups);
            mode = Mode.BACKUP;
        } else if (options.panicThreshold() > 0 && !primaries.isEmpty()) {
            chosen = primaries;
            mode = Mode.PANIC;
        } else if (!usablePrimaries.isEmpty()) {
            chosen = usablePrimaries;
            mode = Mode.NORMAL;
        } else {
            chosen = List.of();
            mode = Mode.EMPTY;
        }
        double[] weights = new double[chosen.size()];
        boolean ramping = false;
        long window = options.slowStart().toNanos();
        for (int i = 0; i < weights.length; i++) {
            Member m = chosen.get(i);
            double w = m.endpoint().weight();
            if (window > 0 && mode != Mode.PANIC) {
                long elapsed = nowNanos - m.usableSinceNanos();
                if (elapsed >= 0 && elapsed < window) {
                    w *= Math.max(options.slowStartFloor(), (double) elapsed / window);
                    ramping = true;
                }
            }
            weights[i] = w;
        }
        return new EndpointSet(List.copyOf(members), List.copyOf(chosen), weights, mode, nowNanos, ramping);
    }

    /** Every member of the pool, in id order, whatever its state. */
    public List<Member> members() {
        return members;
    }

    /** The members a policy may choose among. */
    public List<Member> candidates() {
        return candidates;
    }

    /** The effective weight of candidate {@code i} (configured weight, scaled by slow start). */
    public double weight(int i) {
        return weights[i];
    }

    /** Why the candidates are what they are. */
    public Mode mode() {
        return mode;
    }

    /** When the snapshot was built. */
    public long builtAtNanos() {
        return builtAtNanos;
    }

    /** True if some candidate is still ramping up, so the snapshot should be rebuilt soon. */
    public boolean ramping() {
        return ramping;
    }

    /** Number of candidates. */
    public int size() {
        return candidates.size();
    }
}
