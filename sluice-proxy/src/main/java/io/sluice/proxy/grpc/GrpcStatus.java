package io.sluice.proxy.grpc;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http2.Http2Headers;
import io.sluice.proxy.http1.Http1Writer;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;

/**
 * gRPC status codes and the few gRPC wire rules a proxy needs: how Sluice's own errors are told to a gRPC client,
 * and how a request's deadline is read.
 *
 * <p>A gRPC client reads the call's outcome from {@code grpc-status} and {@code grpc-message}, not from the HTTP
 * status, so an error Sluice generates for a gRPC request is a "trailers-only" response: HTTP 200,
 * {@code content-type: application/grpc}, the status fields and no body (gRPC over HTTP/2 protocol spec). The
 * codes follow the meaning of the failure rather than gRPC's generic HTTP-to-gRPC table: no usable endpoint or a
 * broken upstream is {@code UNAVAILABLE} (the client may retry), a timeout is {@code DEADLINE_EXCEEDED}, a limit
 * or a full queue is {@code RESOURCE_EXHAUSTED}, no route is {@code UNIMPLEMENTED}.
 */
public final class GrpcStatus {

    public static final int OK = 0;
    public static final int CANCELLED = 1;
    public static final int UNKNOWN = 2;
    public static final int INTERNAL = 13;
    public static final int DEADLINE_EXCEEDED = 4;
    public static final int RESOURCE_EXHAUSTED = 8;
    public static final int UNIMPLEMENTED = 12;
    public static final int UNAVAILABLE = 14;
    public static final int UNAUTHENTICATED = 16;
    public static final int PERMISSION_DENIED = 7;

    private GrpcStatus() {
    }

    /** True if a {@code content-type} value is gRPC's ({@code application/grpc}, with or without a suffix). */
    public static boolean isGrpc(CharSequence contentType) {
        return contentType != null && contentType.length() >= 16
                && contentType.toString().regionMatches(true, 0, "application/grpc", 0, 16);
    }

    /**
     * The gRPC status for an error Sluice answers itself.
     *
     * @param httpStatus the HTTP status Sluice would have sent
     * @param reason     the metric reason of the error ({@code connect_timeout}, {@code no_endpoint}, ...)
     */
    public static int forProxyError(int httpStatus, String reason) {
        if (reason.contains("timeout") || reason.contains("deadline")) {
            return reason.startsWith("connect") ? UNAVAILABLE : DEADLINE_EXCEEDED;
        }
        if (reason.contains("limit") || reason.contains("breaker") || reason.contains("overload")
                || reason.contains("pending") || reason.contains("shed") || reason.contains("queue")
                || httpStatus == 429 || httpStatus == 413 || httpStatus == 431) {
            return RESOURCE_EXHAUSTED;
        }
        return switch (httpStatus) {
            case 400 -> INTERNAL;
            case 401 -> UNAUTHENTICATED;
            case 403 -> PERMISSION_DENIED;
            case 404, 405, 501 -> UNIMPLEMENTED;
            case 408, 504 -> DEADLINE_EXCEEDED;
            case 502, 503 -> UNAVAILABLE;
            default -> UNKNOWN;
        };
    }

    /** Adds {@code grpc-status} and {@code grpc-message} to HTTP/2 headers. */
    public static void addTo(Http2Headers headers, int code, String message) {
        headers.setInt("grpc-status", code);
        if (!message.isEmpty()) {
            headers.set("grpc-message", percentEncode(message));
        }
    }

    /**
     * Writes a complete HTTP/1.1 trailers-only gRPC response (the HTTP/2 frontend turns it into one HEADERS frame
     * with END_STREAM).
     */
    public static void writeHttp1(ByteBuf out, int code, String message, String requestId, boolean keepAlive) {
        Http1Writer.statusLine(out, 200);
        Http1Writer.field(out, "content-type", "application/grpc");
        Http1Writer.field(out, "grpc-status", Integer.toString(code));
        if (!message.isEmpty()) {
            Http1Writer.field(out, "grpc-message", percentEncode(message));
        }
        Http1Writer.field(out, "x-request-id", requestId);
        Http1Writer.contentLength(out, 0);
        if (!keepAlive) {
            Http1Writer.connectionClose(out);
        }
        Http1Writer.endHead(out);
    }

    /**
     * Parses a {@code grpc-timeout} value ({@code 1-8 digits} and a unit: H, M, S, m, u, n) into nanoseconds.
     *
     * @return empty if the value is malformed (the spec says to treat it as absent)
     */
    public static OptionalLong timeoutNanos(String value) {
        int n = value.length();
        if (n < 2 || n > 9) {
            return OptionalLong.empty();
        }
        long amount = 0;
        for (int i = 0; i < n - 1; i++) {
            char c = value.charAt(i);
            if (c < '0' || c > '9') {
                return OptionalLong.empty();
            }
            amount = amount * 10 + (c - '0');
        }
        long unit = switch (value.charAt(n - 1)) {
            case 'H' -> 3_600_000_000_000L;
            case 'M' -> 60_000_000_000L;
            case 'S' -> 1_000_000_000L;
            case 'm' -> 1_000_000L;
            case 'u' -> 1_000L;
            case 'n' -> 1L;
            default -> -1;
        };
        if (unit < 0) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(amount > Long.MAX_VALUE / unit ? Long.MAX_VALUE : amount * unit);
    }

    /** Percent-encodes a message as {@code grpc-message} requires (everything outside 0x20-0x7E, and '%'). */
    static String percentEncode(String message) {
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder(bytes.length + 8);
        for (byte b : bytes) {
            int c = b & 0xFF;
            if (c >= 0x20 && c <= 0x7E && c != '%') {
                sb.append((char) c);
            } else {
                sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return sb.toString();
    }
}
