package io.sluice.proxy.log;

/**
 * One line of the access log: a request and what became of it.
 *
 * @param timeMillis      when the request head arrived (wall clock)
 * @param listener        the listener's name
 * @param client          the client's address
 * @param method          the request method
 * @param target          the request target as sent
 * @param host            the Host header
 * @param status          the status sent to the client (0 if none was)
 * @param bytesIn         request body bytes received
 * @param bytesOut        response body bytes sent
 * @param durationNanos   from the request head to the end of the response
 * @param upstreamNanos   from sending the request to the upstream's response head (-1 if none)
 * @param pool            the pool, or empty
 * @param endpoint        the endpoint that answered, or empty
 * @param attempts        tries made
 * @param requestId       the x-request-id
 * @param error           why Sluice answered itself or the exchange failed, or empty
 * @param userAgent       the User-Agent header, or empty
 */
public record AccessRecord(long timeMillis, String listener, String client, String method, String target,
                           String host, int status, long bytesIn, long bytesOut, long durationNanos,
                           long upstreamNanos, String pool, String endpoint, int attempts, String requestId,
                           String error, String userAgent) {
}
