package io.sluice.sim.engine;

/**
 * What the engine tells about a request as it progresses; called on the engine's thread, in time order.
 *
 * <p>The real-time server turns these calls into HTTP responses and SSE chunks; the replay turns them into
 * latency samples and load-statistics updates.
 */
public interface EngineListener {

    /**
     * New output tokens are ready. The first call carries the first token (time to first token); with fused decode
     * steps (replay) one call may carry several tokens.
     */
    void onTokens(EngineRequest request, int newTokens, long nowNanos);

    /** The request produced all its tokens; its KV blocks are already freed. */
    void onFinished(EngineRequest request, long nowNanos);

    /** The request failed; its KV blocks are already freed. */
    void onFailed(EngineRequest request, Failure failure, long nowNanos);
}
