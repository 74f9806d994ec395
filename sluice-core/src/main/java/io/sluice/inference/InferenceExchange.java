package io.sluice.inference;

import io.sluice.endpoint.Address;
import java.util.Objects;
import java.util.Optional;

/**
 * One request's passage through an inference pool: what the scheduler decided for it, and the feedback the data
 * plane gives back as the response streams.
 *
 * <p>Attach it to the {@link io.sluice.balance.PickContext} instead of a bare {@link InferenceRequest}; the
 * scheduler records its decision here (endpoint, cached and uncached tokens, estimated time to first token). Then
 * call {@link #firstToken} when the first token (the first SSE {@code data:} chunk, or the response head of a
 * non-streamed call) arrives, and {@link #finished} exactly when the request ends, however it ends. The proxy and
 * the replay make the same calls; the feedback keeps the router's account of prefill work owed by each endpoint
 * exact between scrapes and calibrates the prefill rate used to turn tokens into seconds. A second pick for the
 * same exchange (a retry on another endpoint) takes the first dispatch back.
 *
 * <p>Not thread-safe: an exchange belongs to one request, handled by one event loop (or the replay's thread).
 */
public final class InferenceExchange {

    /** No self-settling debt. */
    static final long NONE = Long.MIN_VALUE;

    private final InferenceRequest request;
    private FleetState fleet;
    private EndpointState endpoint;
    private long dispatchedAtNanos;
    private int uncachedTokens;
    private int cachedTokens;
    private long estimatedTtftNanos;
    private long predictedWorkTokens;
    private boolean admissionWait;
    private boolean prefillOwed;
    /** When a prefill debt that settles by itself is due (a response that is not streamed), or {@link #NONE}. */
    private long selfSettleAtNanos = NONE;
    /** When a policy first tried to place the request ({@link #NONE} before): the start of its wait. */
    private long firstPickNanos = NONE;
    private boolean ended;

    private InferenceExchange(InferenceRequest request) {
        this.request = Objects.requireNonNull(request, "request");
    }

    /** A new exchange for a request. */
    public static InferenceExchange of(InferenceRequest request) {
        return new InferenceExchange(request);
    }

    /** The request. */
    public InferenceRequest request() {
        return request;
    }

    /**
     * How long since a policy first tried to place this request ({@code nowNanos} marks the first try): time the
     * request has spent waiting, in the central queue or between retries, which its TTFT objective includes.
     */
    long waitedNanos(long nowNanos) {
        if (firstPickNanos == NONE) {
            firstPickNanos = nowNanos;
        }
        return nowNanos - firstPickNanos;
    }

    /** Where the request was sent, once picked. */
    public Optional<Address> endpoint() {
        EndpointState e = endpoint;
        return e == null ? Optional.empty() : Optional.of(e.address);
    }

    /** Prompt tokens the scheduler expected the endpoint to have cached. */
    public int cachedTokens() {
        return cachedTokens;
    }

    /** Prompt tokens the scheduler expected the endpoint to compute. */
    public int uncachedTokens() {
        return uncachedTokens;
    }

    /** The scheduler's estimate of the time to first token at the endpoint it picked, in nanoseconds. */
    public long estimatedTtftNanos() {
        return estimatedTtftNanos;
    }

    /** True once the request has been dispatched and not yet finished. */
    public boolean inFlight() {
        return endpoint != null && !ended;
    }

    /** The first token arrived at {@code nowNanos}: the endpoint's prefill of this request is done. */
    public void firstToken(long nowNanos) {
        FleetState f = fleet;
        if (f != null && prefillOwed && !ended) {
            prefillOwed = false;
            f.firstToken(this, nowNanos);
        }
    }

    /** The request ended at {@code nowNanos} (completed, failed or cancelled). Later calls do nothing. */
    public void finished(long nowNanos) {
        FleetState f = fleet;
        if (f != null && !ended) {
            ended = true;
            boolean owed = prefillOwed;
            prefillOwed = false;
            f.finished(this, nowNanos, owed);
        }
    }

    // ---- written by the scheduler under the fleet's lock ----------------------------------------------------

    void dispatched(FleetState fleet, EndpointState endpoint, long nowNanos, int uncached, int cached,
                    long workTokens, long estimateNanos, boolean admissionWait) {
        this.fleet = fleet;
        this.endpoint = endpoint;
        this.dispatchedAtNanos = nowNanos;
        this.uncachedTokens = uncached;
        this.cachedTokens = cached;
        this.predictedWorkTokens = workTokens;
        this.estimatedTtftNanos = estimateNanos;
        this.admissionWait = admissionWait;
        this.prefillOwed = true;
        this.selfSettleAtNanos = NONE;
        this.ended = false;
    }

    /** The prefill debt of this dispatch settles by itself at {@code atNanos} (the first token cannot be observed). */
    void prefillSettlesItself(long atNanos) {
        prefillOwed = false;
        selfSettleAtNanos = atNanos;
    }

    /** Takes back the current dispatch before a new pick (a retry). */
    void undoDispatch() {
        if (endpoint != null && !ended) {
            if (selfSettleAtNanos != NONE) {
                endpoint.cancelSettle(selfSettleAtNanos, uncachedTokens);
            }
            endpoint.undispatched(dispatchedAtNanos, uncachedTokens, prefillOwed);
        }
        endpoint = null;
        prefillOwed = false;
        selfSettleAtNanos = NONE;
    }

    long selfSettleAtNanos() {
        return selfSettleAtNanos;
    }

    EndpointState endpointState() {
        return endpoint;
    }

    long dispatchedAtNanos() {
        return dispatchedAtNanos;
    }

    long predictedWorkTokens() {
        return predictedWorkTokens;
    }

    boolean admissionWait() {
        return admissionWait;
    }

    FleetState fleet() {
        return fleet;
    }
}
