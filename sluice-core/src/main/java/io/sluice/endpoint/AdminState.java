package io.sluice.endpoint;

/** What an operator asked of an endpoint through the admin API. */
public enum AdminState {
    /** Takes traffic when healthy. */
    ENABLED,
    /** Takes no new requests; in-flight ones finish and its keep-alive connections close after them. */
    DRAINING
}
