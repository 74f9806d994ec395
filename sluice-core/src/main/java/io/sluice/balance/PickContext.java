package io.sluice.balance;

import io.sluice.endpoint.Member;

/**
 * What a policy may know about the request it is picking an endpoint for.
 *
 * <p>Mutable and reusable: the data plane keeps one per request (or per connection) and {@link #reset()}s it, so a
 * pick allocates nothing. Not thread-safe; a context belongs to one request at a time.
 */
public final class PickContext {

    private static final int MAX_EXCLUDED = 8;

    private long hash;
    private boolean hasHash;
    private long affinity;
    private boolean hasAffinity;
    private final Member[] excluded = new Member[MAX_EXCLUDED];
    private int excludedCount;
    private Member[] disallowed = new Member[0];
    private int disallowedCount;
    private Object attachment;

    /** Clears everything for the next request. */
    public PickContext reset() {
        hasHash = false;
        hash = 0;
        hasAffinity = false;
        affinity = 0;
        for (int i = 0; i < excludedCount; i++) {
            excluded[i] = null;
        }
        excludedCount = 0;
        for (int i = 0; i < disallowedCount; i++) {
            disallowed[i] = null;
        }
        disallowedCount = 0;
        attachment = null;
        return this;
    }

    /** Sets the request's hash key (XXH3-64 of the {@code hash_on} value) for hash policies. */
    public PickContext hash(long value) {
        this.hash = value;
        this.hasHash = true;
        return this;
    }

    /** True if the request has a hash key. */
    public boolean hasHash() {
        return hasHash;
    }

    /** The hash key; meaningful only when {@link #hasHash()}. */
    public long hash() {
        return hash;
    }

    /**
     * Sets the request's session affinity: the endpoint id its sticky cookie names, or the key of its sticky
     * header (see {@link StickySessions}). Independent of {@link #hash(long)}, which hash policies use.
     */
    public PickContext affinity(long value) {
        this.affinity = value;
        this.hasAffinity = true;
        return this;
    }

    /** True if the request carries a session affinity. */
    public boolean hasAffinity() {
        return hasAffinity;
    }

    /** The session affinity; meaningful only when {@link #hasAffinity()}. */
    public long affinity() {
        return affinity;
    }

    /** Marks an endpoint as already tried by this request; later picks avoid it when they can. */
    public PickContext exclude(Member member) {
        if (excludedCount < MAX_EXCLUDED) {
            excluded[excludedCount++] = member;
        } else {
            System.arraycopy(excluded, 1, excluded, 0, MAX_EXCLUDED - 1);
            excluded[MAX_EXCLUDED - 1] = member;
        }
        return this;
    }

    /** True if the endpoint was already tried by this request. */
    public boolean excluded(Member member) {
        for (int i = 0; i < excludedCount; i++) {
            if (excluded[i] == member) {
                return true;
            }
        }
        return false;
    }

    /**
     * Rules an endpoint out for this request, whatever else is left: unlike {@link #exclude} (a tried endpoint,
     * avoided when possible and forgotten beyond the last {@value #MAX_EXCLUDED}), for an endpoint that cannot
     * serve the request at all, e.g. one whose discovered models do not include the requested one. Policies that
     * honour it fail the pick with {@code NOT_SERVED} rather than choose such an endpoint.
     */
    public PickContext disallow(Member member) {
        if (disallowedCount == disallowed.length) {
            disallowed = java.util.Arrays.copyOf(disallowed, Math.max(8, disallowedCount * 2));
        }
        disallowed[disallowedCount++] = member;
        return this;
    }

    /** False if the endpoint was {@linkplain #disallow disallowed} for this request. */
    public boolean allowed(Member member) {
        for (int i = 0; i < disallowedCount; i++) {
            if (disallowed[i] == member) {
                return false;
            }
        }
        return true;
    }

    /** True if any endpoint was excluded. */
    public boolean hasExclusions() {
        return excludedCount > 0;
    }

    /** Policy-specific request features (the inference scheduler's parsed request). */
    public Object attachment() {
        return attachment;
    }

    /** Sets the policy-specific request features. */
    public PickContext attach(Object value) {
        this.attachment = value;
        return this;
    }
}
