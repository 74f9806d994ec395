package io.sluice.resilience;

/**
 * The verdict of {@link RetryPolicy} on a failed try, with the reason when it is no, for logs and tests.
 *
 * <p>A {@link #RETRY} still needs a permit from the pool's {@link RetryBudget} before the next try starts.
 */
public enum RetryDecision {
    /** Try again, on another endpoint when one exists, after the backoff. */
    RETRY,
    /** Every try allowed by {@code attempts} has been made. */
    ATTEMPTS_EXHAUSTED,
    /** The failure or status is not listed in {@code retries.on}. */
    CONDITION_NOT_ENABLED,
    /** Part of the response already went to the client; nothing can be taken back. */
    RESPONSE_STARTED,
    /** The request is not idempotent and reached a backend, which may have acted on it. */
    NOT_IDEMPOTENT,
    /** The body cannot be sent again: it is larger than {@code max_body_buffer} and part of it is gone. */
    BODY_NOT_REPLAYABLE;

    /** True for {@link #RETRY}. */
    public boolean retry() {
        return this == RETRY;
    }
}
