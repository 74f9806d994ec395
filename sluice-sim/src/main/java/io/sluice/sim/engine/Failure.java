package io.sluice.sim.engine;

/** Why the engine gave up on a request. */
public enum Failure {
    /** An injected server error (HTTP 500). */
    ERROR,
    /** An injected connection reset. */
    RESET,
    /** The prompt plus the requested output exceed the model's context or the KV cache (HTTP 400). */
    TOO_LONG,
    /** The server is still warming up (HTTP 503). */
    UNAVAILABLE,
    /** The client went away. */
    ABORTED
}
