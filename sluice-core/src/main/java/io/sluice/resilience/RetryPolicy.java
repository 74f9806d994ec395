package io.sluice.resilience;

import io.sluice.config.RetryConfig;
import io.sluice.config.TimeoutsConfig;
import java.time.Duration;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Decides whether a failed try is tried again, how long to wait first, and how long one try may take; built once
 * per pool from {@code retries} and shared by every event loop (it holds no mutable state).
 *
 * <p>The rules, checked in this order (the first that says no wins):
 * <ol>
 *   <li>At most {@code attempts} tries in all, the first included ({@link RetryDecision#ATTEMPTS_EXHAUSTED}).</li>
 *   <li>The failure must be listed in {@code on}: {@code connect-failure}, {@code reset-before-response},
 *       {@code timeout} (the per-try timeout; {@code 504} enables it too, since Envoy treats a per-try timeout as
 *       a 504 made by the proxy), or the status code ({@link RetryDecision#CONDITION_NOT_ENABLED}).
 *       A reset after the response started is never retried: the client already has part of the answer
 *       ({@link RetryDecision#RESPONSE_STARTED}).</li>
 *   <li>A request that reached a backend (any byte written to the upstream connection; always so for a status)
 *       is retried only if its method is idempotent ({@link RetryDecision#NOT_IDEMPOTENT}). A request that never
 *       left Sluice (connect failure; a pooled connection found closed before the write) is retried whatever its
 *       method: no backend saw it. This is the rule of HAProxy's {@code retry-on} with {@code conn-failure} and
 *       of Envoy's {@code reset-before-request}, and what RFC 9110 §9.2.2 allows.</li>
 *   <li>The whole request must still be sendable from its first byte ({@link RetryDecision#BODY_NOT_REPLAYABLE}):
 *       bodies up to {@code max_body_buffer} are kept until the response head arrives (Envoy's
 *       {@code per_request_buffer_limit_bytes} plays this role there).</li>
 * </ol>
 * A {@link RetryDecision#RETRY} must then get a permit from the pool's {@link RetryBudget}, and the next try goes
 * to another endpoint when one exists ({@code PickContext.exclude}).
 *
 * <p>Backoff is exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015; the
 * same as Envoy's {@code JitteredExponentialBackOffStrategy}): before retry n (1, 2, ...) wait a uniform random time
 * in {@code [0, min(backoff_max, backoff_base × 2^(n-1)))}. Full jitter spreads the retries of many clients that
 * failed at the same moment, which a fixed or merely "equal-jitter" backoff does not.
 */
public final class RetryPolicy {

    private final int attempts;
    private final boolean onConnectFailure;
    private final boolean onResetBeforeResponse;
    private final boolean onTimeout;
    private final boolean[] onStatus = new boolean[600];
    private final long backoffBaseNanos;
    private final long backoffMaxNanos;
    private final Duration perTryTimeout;
    private final long maxBodyBuffer;

    private RetryPolicy(RetryConfig config, TimeoutsConfig timeouts) {
        this.attempts = config.attempts();
        this.onConnectFailure = config.retriesOn("connect-failure");
        this.onResetBeforeResponse = config.retriesOn("reset-before-response");
        // As in Envoy, a per-try timeout is a 504 produced by the proxy: listing 504 retries it too.
        this.onTimeout = config.retriesOn("timeout") || config.retriesOn("504");
        for (String condition : config.on()) {
            if (condition.length() == 3 && Character.isDigit(condition.charAt(0))) {
                int status = Integer.parseInt(condition);
                if (status >= 100 && status < onStatus.length) {
                    onStatus[status] = true;
                }
            }
        }
        this.backoffBaseNanos = config.backoffBase().toNanos();
        this.backoffMaxNanos = config.backoffMax().toNanos();
        this.perTryTimeout = config.perTryTimeout().isZero() ? timeouts.responseHeader() : config.perTryTimeout();
        this.maxBodyBuffer = config.maxBodyBuffer();
    }

    /**
     * Builds the policy of a pool.
     *
     * @param config   the pool's {@code retries}
     * @param timeouts the pool's {@code timeouts}: {@code response_header} is the per-try timeout unless
     *                 {@code per_try_timeout} is set
     */
    public static RetryPolicy of(RetryConfig config, TimeoutsConfig timeouts) {
        return new RetryPolicy(Objects.requireNonNull(config, "config"), Objects.requireNonNull(timeouts, "timeouts"));
    }

    /**
     * Decides on a try that failed without a usable response.
     *
     * @param request      the request's idempotency and body replayability
     * @param triesDone    tries made so far, the failed one included (1 after the first try)
     * @param failure      how the try failed
     * @param sentUpstream true if any byte of the request was written to the upstream connection; ignored (taken
     *                     as false) for a connect failure
     */
    public RetryDecision decide(RetryRequest request, int triesDone, UpstreamFailure failure, boolean sentUpstream) {
        Objects.requireNonNull(failure, "failure");
        if (triesDone >= attempts) {
            return RetryDecision.ATTEMPTS_EXHAUSTED;
        }
        boolean enabled;
        boolean sent = sentUpstream;
        switch (failure) {
            case CONNECT_FAILURE -> {
                enabled = onConnectFailure;
                sent = false;
            }
            case RESET_BEFORE_RESPONSE -> enabled = onResetBeforeResponse;
            case TIMEOUT -> enabled = onTimeout;
            case RESET_AFTER_RESPONSE -> {
                return RetryDecision.RESPONSE_STARTED;
            }
            default -> throw new IllegalArgumentException("unknown failure " + failure);
        }
        if (!enabled) {
            return RetryDecision.CONDITION_NOT_ENABLED;
        }
        return requestRules(request, sent);
    }

    /**
     * Decides on a try answered with a status the proxy has not yet forwarded. The request reached a backend, so
     * only idempotent requests are retried.
     *
     * @param request   the request's idempotency and body replayability
     * @param triesDone tries made so far, the answered one included
     * @param status    the response status
     */
    public RetryDecision decide(RetryRequest request, int triesDone, int status) {
        if (triesDone >= attempts) {
            return RetryDecision.ATTEMPTS_EXHAUSTED;
        }
        if (!retriesOnStatus(status)) {
            return RetryDecision.CONDITION_NOT_ENABLED;
        }
        return requestRules(request, true);
    }

    private static RetryDecision requestRules(RetryRequest request, boolean sent) {
        if (sent && !request.idempotent()) {
            return RetryDecision.NOT_IDEMPOTENT;
        }
        if (!request.bodyReplayable()) {
            return RetryDecision.BODY_NOT_REPLAYABLE;
        }
        return RetryDecision.RETRY;
    }

    /**
     * True if a response with this status may be retried, so the proxy should hold its head back until it knows
     * (other statuses are forwarded at once).
     */
    public boolean retriesOnStatus(int status) {
        return status >= 0 && status < onStatus.length && onStatus[status];
    }

    /**
     * The wait before a retry: uniform in {@code [0, min(backoff_max, backoff_base × 2^(retry-1)))}.
     *
     * @param retry  1 for the first retry (the second try), 2 for the next, ...
     * @param random the caller's random source (a seeded one in tests and replay, the event loop's in the proxy)
     */
    public long backoffNanos(int retry, RandomGenerator random) {
        if (retry < 1) {
            throw new IllegalArgumentException("retry numbers start at 1: " + retry);
        }
        long ceiling = backoffCeilingNanos(retry);
        return ceiling <= 0 ? 0 : random.nextLong(ceiling);
    }

    /** The exclusive upper bound of {@link #backoffNanos} for the given retry. */
    public long backoffCeilingNanos(int retry) {
        if (backoffBaseNanos == 0) {
            return 0;
        }
        int shift = Math.min(retry - 1, 62);
        long grown = backoffBaseNanos > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : backoffBaseNanos << shift;
        return Math.min(backoffMaxNanos, grown);
    }

    /** How long one try may wait for its response head. */
    public Duration perTryTimeout() {
        return perTryTimeout;
    }

    /** Tries in all, the first included. */
    public int attempts() {
        return attempts;
    }

    /** The largest request body kept for replay, in bytes. */
    public long maxBodyBuffer() {
        return maxBodyBuffer;
    }

    /** True if a body of this length (-1: unknown, chunked) can be kept for replay. */
    public boolean bufferable(long contentLength) {
        return contentLength >= 0 && contentLength <= maxBodyBuffer;
    }
}
