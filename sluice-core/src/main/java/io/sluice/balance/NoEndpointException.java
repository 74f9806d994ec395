package io.sluice.balance;

/**
 * No endpoint can take the request; the reason says why, for the client's error body and for metrics.
 *
 * <p>Stackless and shared: it is a normal outcome under failure, thrown on the request path.
 */
public final class NoEndpointException extends RuntimeException {

    /** Why no endpoint was picked. */
    public enum Reason {
        /** The pool has no endpoint at all. */
        NO_ENDPOINTS("pool has no endpoints"),
        /** Every endpoint is unhealthy, ejected or draining. */
        NONE_USABLE("no healthy endpoint"),
        /** Every candidate is at its limit. */
        SATURATED("every endpoint is saturated"),
        /** No endpoint serves what the request asks for (model, adapter). */
        NOT_SERVED("no endpoint serves this request");

        private final String message;

        Reason(String message) {
            this.message = message;
        }

        /** A short human-readable message. */
        public String message() {
            return message;
        }
    }

    private static final long serialVersionUID = 1L;
    private static final NoEndpointException[] SHARED = new NoEndpointException[Reason.values().length];

    static {
        for (Reason r : Reason.values()) {
            SHARED[r.ordinal()] = new NoEndpointException(r);
        }
    }

    private final Reason reason;

    private NoEndpointException(Reason reason) {
        super(reason.message(), null, false, false);
        this.reason = reason;
    }

    /** The shared instance for a reason. */
    public static NoEndpointException of(Reason reason) {
        return SHARED[reason.ordinal()];
    }

    /** Why no endpoint was picked. */
    public Reason reason() {
        return reason;
    }
}
