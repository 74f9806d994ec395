package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Translates message heads between HTTP/2 header blocks and HTTP/1.1 heads, following RFC 9113 §8.2-8.3 and the
 * rules Netty's {@code HttpConversionUtil} applies: pseudo-headers become the request or status line and
 * {@code Host}, connection-specific fields are dropped, split {@code cookie} fields are joined with {@code "; "},
 * and names are lower-cased toward HTTP/2.
 *
 * <p>Sluice's proxying core works on HTTP/1.1 heads ({@link Http1Head}), so HTTP/2 streams are carried by
 * translating at the edges, as Netty's {@code Http2StreamFrameToHttpObjectCodec} lets HTTP/1 handlers serve
 * HTTP/2. An extended CONNECT (RFC 8441) becomes the HTTP/1.1 Upgrade request it stands for.
 */
public final class HeadTranslator {

    private static final AsciiString TE = AsciiString.cached("te");
    private static final AsciiString TRAILERS = AsciiString.cached("trailers");
    private static final AsciiString COOKIE = AsciiString.cached("cookie");
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("content-length");
    private static final AsciiString CONTENT_TYPE = AsciiString.cached("content-type");

    private HeadTranslator() {
    }

    /** The framing of a request body translated to HTTP/1.1. */
    public enum BodyFraming { NONE, LENGTH, CHUNKED }

    /** An HTTP/1.1 request head written from an HTTP/2 request, and how its body is framed. */
    public record Request(ByteBuf head, BodyFraming framing, boolean upgrade, boolean grpc, boolean headMethod,
                   boolean expectContinue) {
    }

    /** Writes the HTTP/1.1 form of an HTTP/2 request head. */
    public static Request request(ByteBufAllocator alloc, Http2Headers h, boolean endStream) {
        CharSequence method = h.method() == null ? "" : h.method();
        CharSequence protocol = h.get(Http2Headers.PseudoHeaderName.PROTOCOL.value());
        boolean upgrade = protocol != null && AsciiString.contentEquals(method, "CONNECT");
        CharSequence path = h.path();
        CharSequence authority = h.authority();
        ByteBuf out = alloc.buffer(256);
        if (upgrade) {
            ByteBufUtil.writeAscii(out, "GET");
        } else {
            ByteBufUtil.writeAscii(out, method);
        }
        out.writeByte(' ');
        ByteBufUtil.writeAscii(out, path != null ? path : authority != null && !upgrade ? authority : "/");
        ByteBufUtil.writeAscii(out, " HTTP/1.1\r\n");
        if (authority != null) {
            Http1Writer.field(out, "host", authority);
        }
        StringBuilder cookies = null;
        CharSequence contentLength = null;
        boolean grpc = false;
        boolean expectContinue = false;
        boolean hasWsKey = false;
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':') {
                continue;
            }
            if (AsciiString.contentEqualsIgnoreCase(name, COOKIE)) {
                cookies = cookies == null ? new StringBuilder(e.getValue()) : cookies.append("; ").append(e.getValue());
                continue;
            }
            if (AsciiString.contentEqualsIgnoreCase(name, CONTENT_LENGTH)) {
                contentLength = e.getValue();
                continue;
            }
            if (connectionSpecific(name) || authority != null && AsciiString.contentEqualsIgnoreCase(name, "host")) {
                continue;
            }
            if (AsciiString.contentEqualsIgnoreCase(name, CONTENT_TYPE)) {
                grpc = AsciiString.regionMatches(e.getValue(), true, 0, "application/grpc", 0, 16);
            } else if (AsciiString.contentEqualsIgnoreCase(name, "expect")) {
                expectContinue = AsciiString.contentEqualsIgnoreCase(e.getValue(), "100-continue");
            } else if (AsciiString.contentEqualsIgnoreCase(name, "sec-websocket-key")) {
                hasWsKey = true;
            }
            Http1Writer.field(out, name, e.getValue());
        }
        if (cookies != null) {
            Http1Writer.field(out, "cookie", cookies);
        }
        if (upgrade) {
            Http1Writer.field(out, "connection", "Upgrade");
            Http1Writer.field(out, "upgrade", protocol);
            if (!hasWsKey && AsciiString.contentEqualsIgnoreCase(protocol, "websocket")) {
                byte[] key = new byte[16];
                ThreadLocalRandom.current().nextBytes(key);
                Http1Writer.field(out, "sec-websocket-key", Base64.getEncoder().encodeToString(key));
            }
        }
        BodyFraming framing;
        if (endStream || upgrade) {
            framing = BodyFraming.NONE;
            if (contentLength != null) {
                Http1Writer.field(out, "content-length", "0");
            }
        } else if (contentLength != null) {
            framing = BodyFraming.LENGTH;
            Http1Writer.field(out, "content-length", contentLength);
        } else {
            framing = BodyFraming.CHUNKED;
            Http1Writer.chunked(out);
        }
        Http1Writer.endHead(out);
        return new Request(out, framing, upgrade, grpc, AsciiString.contentEquals(method, "HEAD"),
                expectContinue);
    }

    /** The HTTP/2 form of an HTTP/1.1 response head; hop-by-hop fields are dropped, the length kept. */
    public static Http2Headers response(Http1Head head, boolean tunnel) {
        Http2Headers h = new DefaultHttp2Headers(false, head.size() + 2);
        h.status(tunnel ? AsciiString.of("200") : AsciiString.of(Integer.toString(head.status())));
        for (int i = 0; i < head.size(); i++) {
            if (head.hopByHop(i)) {
                continue;
            }
            String name = head.name(i).toLowerCase(java.util.Locale.ROOT);
            if (tunnel && name.equals("sec-websocket-accept")) {
                continue;
            }
            h.add(AsciiString.of(name), head.value(i));
        }
        if (!tunnel && head.contentLength() >= 0 && !head.chunked() && head.status() != 204
                && head.status() / 100 != 1) {
            h.setLong(CONTENT_LENGTH, head.contentLength());
        }
        return h;
    }

    /** The HTTP/2 form of HTTP/1.1 trailer field lines ({@code name: value CRLF} each). */
    public static Http2Headers trailers(ByteBuf lines) {
        Http2Headers h = new DefaultHttp2Headers(false);
        String text = lines.toString(StandardCharsets.ISO_8859_1);
        int at = 0;
        while (at < text.length()) {
            int end = text.indexOf("\r\n", at);
            if (end < 0) {
                end = text.length();
            }
            int colon = text.indexOf(':', at);
            if (colon > at && colon < end) {
                String name = text.substring(at, colon).strip().toLowerCase(java.util.Locale.ROOT);
                if (!connectionSpecific(name)) {
                    h.add(AsciiString.of(name), text.substring(colon + 1, end).strip());
                }
            }
            at = end + 2;
        }
        return h;
    }

    /** Appends HTTP/2 trailers as HTTP/1.1 trailer field lines. */
    public static void writeTrailerLines(ByteBuf out, Http2Headers trailers) {
        for (Map.Entry<CharSequence, CharSequence> e : trailers) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':' || connectionSpecific(name)) {
                continue;
            }
            Http1Writer.field(out, name, e.getValue());
        }
    }

    /**
     * The HTTP/2 form of an HTTP/1.1 request head, for an HTTP/2 upstream: the request line and {@code Host}
     * become pseudo-headers; gRPC requests get {@code te: trailers}, which gRPC servers require.
     */
    public static Http2Headers upstreamRequest(Http1Head head, boolean tls) {
        Http2Headers h = new DefaultHttp2Headers(false, head.size() + 4);
        h.method(AsciiString.of(head.method()));
        h.scheme(tls ? "https" : "http");
        String target = head.target();
        h.path(AsciiString.of(target));
        boolean grpc = false;
        for (int i = 0; i < head.size(); i++) {
            if (head.hopByHop(i)) {
                continue;
            }
            String name = head.name(i).toLowerCase(java.util.Locale.ROOT);
            if (name.equals("host")) {
                h.authority(head.value(i));
                continue;
            }
            if (name.equals("content-type")) {
                grpc = head.value(i).regionMatches(true, 0, "application/grpc", 0, 16);
            }
            h.add(AsciiString.of(name), head.value(i));
        }
        if (head.contentLength() >= 0 && !head.chunked()) {
            h.setLong(CONTENT_LENGTH, head.contentLength());
        }
        if (grpc) {
            h.set(TE, TRAILERS);
        }
        return h;
    }

    /**
     * The HTTP/1.1 form of an HTTP/2 response head from an upstream; returns whether the body that follows is
     * chunked (no length was given and more frames follow).
     */
    public static boolean upstreamResponse(ByteBuf out, Http2Headers h, boolean endStream, boolean headRequest) {
        CharSequence statusText = h.status();
        int status = statusText == null ? 502 : Integer.parseInt(statusText.toString());
        Http1Writer.statusLine(out, status);
        CharSequence contentLength = null;
        for (Map.Entry<CharSequence, CharSequence> e : h) {
            CharSequence name = e.getKey();
            if (name.length() > 0 && name.charAt(0) == ':' || connectionSpecific(name)) {
                continue;
            }
            if (AsciiString.contentEqualsIgnoreCase(name, CONTENT_LENGTH)) {
                contentLength = e.getValue();
                continue;
            }
            Http1Writer.field(out, name, e.getValue());
        }
        boolean bodiless = status / 100 == 1 || status == 204 || status == 304;
        boolean chunked = false;
        if (contentLength != null && (headRequest || bodiless || !endStream)) {
            Http1Writer.field(out, "content-length", contentLength);
        } else if (bodiless || headRequest) {
            // No framing at all.
        } else if (endStream) {
            Http1Writer.field(out, "content-length", "0");
        } else {
            Http1Writer.chunked(out);
            chunked = true;
        }
        Http1Writer.endHead(out);
        return chunked;
    }

    /** Fields that describe one HTTP/1.1 connection and have no place in HTTP/2 (RFC 9113 §8.2.2). */
    public static boolean connectionSpecific(CharSequence name) {
        return AsciiString.contentEqualsIgnoreCase(name, "connection")
                || AsciiString.contentEqualsIgnoreCase(name, "keep-alive")
                || AsciiString.contentEqualsIgnoreCase(name, "proxy-connection")
                || AsciiString.contentEqualsIgnoreCase(name, "transfer-encoding")
                || AsciiString.contentEqualsIgnoreCase(name, "upgrade")
                || AsciiString.contentEqualsIgnoreCase(name, TE);
    }
}
