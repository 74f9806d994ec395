package io.sluice.resilience;

/**
 * How a try to an endpoint failed without a usable response: what the data plane reports to retry decisions and to
 * outlier detection. An HTTP status, however bad, is not an {@code UpstreamFailure}: it is reported as a status.
 *
 * <p>Only failures of the upstream side belong here; a client that goes away is not the endpoint's fault and is
 * reported to nobody.
 */
public enum UpstreamFailure {
    /** The connection could not be opened (refused, unreachable, connect timeout): no request byte left Sluice. */
    CONNECT_FAILURE,
    /** The connection was reset or closed before any byte of the response arrived. */
    RESET_BEFORE_RESPONSE,
    /** The connection was reset or closed after the response had started: the client already has part of it. */
    RESET_AFTER_RESPONSE,
    /** The per-try timeout ran out before the response head arrived. */
    TIMEOUT
}
