package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.sluice.proxy.http1.HeaderNames;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Writer;
import java.util.Optional;

/**
 * Builds the heads Sluice forwards: the request to the endpoint and the response to the client.
 *
 * <p>Request hygiene: hop-by-hop fields and the fields named in {@code Connection} are dropped; framing is written
 * once from what the parser decided; {@code X-Forwarded-For} gets the client address appended (HAProxy's
 * {@code option forwardfor}, Envoy's default), {@code X-Forwarded-Proto} and {@code X-Forwarded-Host} are set to
 * what this listener saw (a client cannot choose them), an RFC 7239 {@code Forwarded} element and a {@code Via}
 * entry are appended, and {@code x-request-id} is added when the client sent none. An {@code Expect: 100-continue}
 * is answered by Sluice itself once an endpoint is connected, so it is not forwarded.
 */
final class ForwardedHeads {

    private static final String VIA = "1.1 sluice";

    private ForwardedHeads() {
    }

    /**
     * The request head for the endpoint.
     *
     * @param request       the client's request
     * @param originTarget  the target to send (origin form)
     * @param authority     the Host to send (the client's Host, or the authority of an absolute-form target)
     * @param hostFromUri   true if the target was absolute-form, so the client's Host field is replaced
     * @param clientIp      the client's IP address
     * @param tls           true if the client connected over TLS
     * @param requestId     the request id
     * @param idGenerated   true if the id was generated here (so any client value is replaced)
     * @param bodyLength    the length of a body Sluice read whole and sends with a Content-Length (an inference
     *                      request), or -1 to keep the client's framing
     */
    static ByteBuf request(ByteBufAllocator alloc, Http1Head request, String originTarget, String authority,
                           boolean hostFromUri, String clientIp, boolean tls, String requestId, boolean idGenerated,
                           long bodyLength) {
        ByteBuf out = alloc.buffer(request.buffer().readableBytes() + 256);
        if (hostFromUri) {
            Http1Writer.requestLine(out, request.method(), originTarget);
        } else {
            Http1Writer.requestLine(out, request);
        }
        int xffLast = -1;
        int forwardedLast = -1;
        int viaLast = -1;
        for (int i = 0; i < request.size(); i++) {
            if (request.hopByHop(i)) {
                continue;
            }
            if (request.nameIs(i, HeaderNames.X_FORWARDED_FOR)) {
                xffLast = i;
                continue;
            }
            if (request.nameIs(i, HeaderNames.FORWARDED)) {
                forwardedLast = i;
                continue;
            }
            if (request.nameIs(i, HeaderNames.VIA)) {
                viaLast = i;
                continue;
            }
            if (request.nameIs(i, HeaderNames.X_FORWARDED_PROTO) || request.nameIs(i, HeaderNames.X_FORWARDED_HOST)
                    || request.nameIs(i, HeaderNames.EXPECT)
                    || hostFromUri && request.nameIs(i, HeaderNames.HOST)
                    || idGenerated && request.nameIs(i, HeaderNames.X_REQUEST_ID)) {
                continue;
            }
            Http1Writer.copyField(out, request, i);
        }
        if (hostFromUri) {
            Http1Writer.field(out, "Host", authority);
        }
        Optional<String> upgrade = upgrade(request);
        if (upgrade.isPresent()) {
            Http1Writer.field(out, "Connection", "Upgrade");
            Http1Writer.field(out, "Upgrade", upgrade.get());
        }
        if (bodyLength >= 0) {
            Http1Writer.contentLength(out, bodyLength);
        } else if (request.chunked()) {
            Http1Writer.chunked(out);
        } else if (request.contentLength() >= 0) {
            Http1Writer.contentLength(out, request.contentLength());
        }
        writeList(out, "X-Forwarded-For", request, HeaderNames.X_FORWARDED_FOR, xffLast, clientIp);
        Http1Writer.field(out, "X-Forwarded-Proto", tls ? "https" : "http");
        Http1Writer.field(out, "X-Forwarded-Host", authority);
        writeList(out, "Forwarded", request, HeaderNames.FORWARDED, forwardedLast, forwardedElement(clientIp, tls,
                authority));
        writeList(out, "Via", request, HeaderNames.VIA, viaLast, VIA);
        if (idGenerated) {
            Http1Writer.field(out, "x-request-id", requestId);
        }
        Http1Writer.endHead(out);
        return out;
    }

    /**
     * The protocol a request asks to switch to, if Sluice forwards that switch: a body-less request with
     * {@code Connection: upgrade} and an {@code Upgrade} other than {@code h2c} (which Sluice answers itself), in
     * practice WebSocket.
     */
    static Optional<String> upgrade(Http1Head request) {
        if (!request.connectionUpgrade() || request.chunked() || request.contentLength() > 0) {
            return Optional.empty();
        }
        return request.get("upgrade").filter(u -> !u.isBlank() && !u.toLowerCase(java.util.Locale.ROOT)
                .contains("h2c"));
    }

    /** The {@code 101 Switching Protocols} head for the client: the endpoint's fields and its Upgrade. */
    static ByteBuf switchingProtocols(ByteBufAllocator alloc, Http1Head response, String requestId) {
        ByteBuf out = alloc.buffer(response.buffer().readableBytes() + 96);
        Http1Writer.statusLine(out, response);
        boolean hasRequestId = false;
        for (int i = 0; i < response.size(); i++) {
            if (response.hopByHop(i)) {
                continue;
            }
            hasRequestId |= response.nameIs(i, HeaderNames.X_REQUEST_ID);
            Http1Writer.copyField(out, response, i);
        }
        Http1Writer.field(out, "Connection", "Upgrade");
        Http1Writer.field(out, "Upgrade", response.get("upgrade").orElse(""));
        if (!hasRequestId) {
            Http1Writer.field(out, "x-request-id", requestId);
        }
        Http1Writer.endHead(out);
        return out;
    }

    /** Writes {@code name: v1, v2, ..., added}: every earlier field of that name joined, then the new element. */
    private static void writeList(ByteBuf out, String name, Http1Head request, byte[] lowerName, int last,
                                  String added) {
        io.netty.buffer.ByteBufUtil.writeAscii(out, name);
        out.writeByte(':').writeByte(' ');
        if (last >= 0) {
            for (int i = 0; i <= last; i++) {
                if (request.nameIs(i, lowerName)) {
                    Http1Writer.copyValue(out, request, i);
                    out.writeByte(',').writeByte(' ');
                }
            }
        }
        io.netty.buffer.ByteBufUtil.writeAscii(out, added);
        out.writeByte('\r').writeByte('\n');
    }

    private static String forwardedElement(String clientIp, boolean tls, String authority) {
        String node = clientIp.indexOf(':') >= 0 ? "\"[" + clientIp + "]\"" : clientIp;
        boolean plainHost = true;
        for (int i = 0; i < authority.length() && plainHost; i++) {
            char c = authority.charAt(i);
            plainHost = Character.isLetterOrDigit(c) || c == '.' || c == '-';
        }
        return "for=" + node + ";proto=" + (tls ? "https" : "http") + ";host="
                + (plainHost ? authority : "\"" + authority.replace("\"", "") + "\"");
    }

    /**
     * The response head for the client.
     *
     * @param response          the endpoint's response
     * @param framing           how the body reaches the client
     * @param keepAlive         whether the client connection stays open
     * @param clientMinorVersion the client's HTTP minor version
     * @param requestId         added when the response has none
     * @param setCookie         a {@code Set-Cookie} Sluice adds (the sticky-session cookie), besides the endpoint's
     */
    static ByteBuf response(ByteBufAllocator alloc, Http1Head response, Framing framing, boolean keepAlive,
                            int clientMinorVersion, String requestId, Optional<String> setCookie) {
        ByteBuf out = alloc.buffer(response.buffer().readableBytes() + 96);
        Http1Writer.statusLine(out, response);
        boolean hasRequestId = false;
        for (int i = 0; i < response.size(); i++) {
            if (response.hopByHop(i)) {
                continue;
            }
            if (response.nameIs(i, HeaderNames.X_REQUEST_ID)) {
                hasRequestId = true;
            }
            Http1Writer.copyField(out, response, i);
        }
        switch (framing) {
            case LENGTH -> Http1Writer.contentLength(out, response.contentLength());
            case CHUNKED -> Http1Writer.chunked(out);
            case NONE -> {
                if (response.contentLength() >= 0 && response.status() != 204 && response.status() / 100 != 1) {
                    // HEAD and 304: the length of the body that would have been sent.
                    Http1Writer.contentLength(out, response.contentLength());
                }
            }
            case CLOSE -> {
            }
            default -> throw new IllegalStateException(framing.name());
        }
        if (!keepAlive) {
            Http1Writer.connectionClose(out);
        } else if (clientMinorVersion == 0) {
            Http1Writer.connectionKeepAlive(out);
        }
        if (!hasRequestId) {
            Http1Writer.field(out, "x-request-id", requestId);
        }
        if (setCookie.isPresent()) {
            Http1Writer.field(out, "Set-Cookie", setCookie.get());
        }
        Http1Writer.endHead(out);
        return out;
    }

    /** How a response body is delimited toward the client. */
    enum Framing {
        /** No body (HEAD, 204, 304). */
        NONE,
        /** Content-Length, as the endpoint sent it. */
        LENGTH,
        /** Chunked (the endpoint's length was unknown or chunked, and the client speaks HTTP/1.1). */
        CHUNKED,
        /** Until the connection closes (an HTTP/1.0 client and an unknown length). */
        CLOSE;

        /** The framing of the response to a request: none, the endpoint's length, chunked, or until close. */
        static Framing of(Http1Head request, Http1Head response) {
            int s = response.status();
            if (request.method().equals("HEAD") || s == 204 || s == 304) {
                return NONE;
            }
            if (response.contentLength() >= 0 && !response.chunked()) {
                return LENGTH;
            }
            return request.minorVersion() >= 1 ? CHUNKED : CLOSE;
        }
    }
}
