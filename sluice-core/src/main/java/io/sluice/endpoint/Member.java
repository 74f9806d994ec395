package io.sluice.endpoint;

import java.util.Objects;

/**
 * One endpoint's membership in a pool: its configuration, its live load and the health verdicts about it.
 *
 * <p>A member lives as long as its endpoint stays in the pool; weight changes replace the {@link Endpoint} but keep
 * the member, so load history and health survive them. Policies never read the health fields: they get only the
 * members that {@link EndpointSet} found usable.
 */
public final class Member {

    private final int id;
    private final LoadStats load = new LoadStats();
    private volatile Endpoint endpoint;
    private volatile boolean checkPassing;
    private volatile long ejectedUntilNanos = Long.MIN_VALUE;
    private volatile AdminState adminState = AdminState.ENABLED;
    private volatile long usableSinceNanos;

    /**
     * Creates a member.
     *
     * @param id            unique within the pool for its whole life, never reused
     * @param endpoint      the configured endpoint
     * @param checkPassing  false when active health checks must pass before the member gets traffic
     * @param usableSinceNanos when it became usable; slow start ramps from here ({@code Long.MIN_VALUE / 2}: never)
     */
    public Member(int id, Endpoint endpoint, boolean checkPassing, long usableSinceNanos) {
        this.id = id;
        this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
        this.checkPassing = checkPassing;
        this.usableSinceNanos = usableSinceNanos;
    }

    /** The member's id, unique within its pool. */
    public int id() {
        return id;
    }

    /** The configured endpoint (weight may change at run time). */
    public Endpoint endpoint() {
        return endpoint;
    }

    /** Shorthand for {@code endpoint().address()}. */
    public Address address() {
        return endpoint.address();
    }

    /** Live load counters. */
    public LoadStats load() {
        return load;
    }

    /** Replaces the configured weight. */
    public void setWeight(int weight) {
        endpoint = endpoint.withWeight(weight);
    }

    /** Replaces the configuration (on a reload); the address must stay the same. */
    public void setEndpoint(Endpoint replacement) {
        if (!replacement.address().equals(endpoint.address())) {
            throw new IllegalArgumentException("a member keeps its address: " + endpoint.address() + " != "
                    + replacement.address());
        }
        endpoint = replacement;
    }

    /** Whether the active health check currently passes (true when the pool has no active check). */
    public boolean checkPassing() {
        return checkPassing;
    }

    /** The admin state. */
    public AdminState adminState() {
        return adminState;
    }

    /** When outlier detection lets the member back; {@code Long.MIN_VALUE} when it is not ejected. */
    public long ejectedUntilNanos() {
        return ejectedUntilNanos;
    }

    /** When the member last became usable, for slow start. */
    public long usableSinceNanos() {
        return usableSinceNanos;
    }

    /** True if health, outlier detection and the operator all allow traffic at the given time. */
    public boolean usable(long nowNanos) {
        return checkPassing && adminState == AdminState.ENABLED && nowNanos >= ejectedUntilNanos;
    }

    /** True if ejected by outlier detection at the given time. */
    public boolean ejected(long nowNanos) {
        return nowNanos < ejectedUntilNanos;
    }

    /** Records the verdict of the active health check. */
    public void setCheckPassing(boolean passing, long nowNanos) {
        markTransition(nowNanos, () -> checkPassing = passing);
    }

    /** Ejects the member until the given time (outlier detection). */
    public void ejectUntil(long untilNanos, long nowNanos) {
        markTransition(nowNanos, () -> ejectedUntilNanos = untilNanos);
    }

    /** Ends an ejection early or records that it has run out. */
    public void unEject(long nowNanos) {
        markTransition(nowNanos, () -> ejectedUntilNanos = Long.MIN_VALUE);
    }

    /** Sets the admin state. */
    public void setAdminState(AdminState state, long nowNanos) {
        markTransition(nowNanos, () -> adminState = Objects.requireNonNull(state));
    }

    /** Applies a change and, if it made the member usable again, restarts its slow-start ramp. */
    private synchronized void markTransition(long nowNanos, Runnable change) {
        boolean before = usableState();
        change.run();
        if (!before && usableState()) {
            usableSinceNanos = nowNanos;
        }
    }

    /** Usable by state alone: an ejection counts until {@link #unEject} ends it, whatever the time. */
    private boolean usableState() {
        return checkPassing && adminState == AdminState.ENABLED && ejectedUntilNanos == Long.MIN_VALUE;
    }

    @Override
    public String toString() {
        return endpoint.address() + "#" + id;
    }
}
