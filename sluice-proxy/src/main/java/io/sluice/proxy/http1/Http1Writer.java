package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;

/**
 * Writes HTTP/1.1 heads and chunk framing.
 *
 * <p>Forwarded heads are rebuilt from the parsed {@link Http1Head}: every end-to-end field is copied byte for byte
 * (name, one space, value), hop-by-hop fields are dropped, and the framing fields are written once from what the
 * parser decided, so the two sides of the proxy can never disagree on where a body ends.
 */
public final class Http1Writer {

    private static final byte[] CRLF_BYTES = {'\r', '\n'};
    private static final ByteBuf CRLF = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(2).writeBytes(CRLF_BYTES).asReadOnly());
    private static final ByteBuf LAST_CHUNK = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(5).writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).asReadOnly());
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private Http1Writer() {
    }

    /** Appends {@code name: value CRLF}. */
    public static void field(ByteBuf out, CharSequence name, CharSequence value) {
        ByteBufUtil.writeAscii(out, name);
        out.writeByte(':').writeByte(' ');
        ByteBufUtil.writeAscii(out, value);
        out.writeBytes(CRLF_BYTES);
    }

    /** Appends field {@code i} of a parsed head, normalised to {@code name: value CRLF}. */
    public static void copyField(ByteBuf out, Http1Head head, int i) {
        ByteBuf src = head.buffer();
        out.writeBytes(src, head.nameStart(i), head.nameEnd(i) - head.nameStart(i));
        out.writeByte(':').writeByte(' ');
        out.writeBytes(src, head.valueStart(i), head.valueEnd(i) - head.valueStart(i));
        out.writeBytes(CRLF_BYTES);
    }

    /** Appends field {@code i}'s value bytes. */
    public static void copyValue(ByteBuf out, Http1Head head, int i) {
        out.writeBytes(head.buffer(), head.valueStart(i), head.valueEnd(i) - head.valueStart(i));
    }

    /** Appends {@code METHOD SP target SP HTTP/1.1 CRLF}. */
    public static void requestLine(ByteBuf out, String method, CharSequence target) {
        ByteBufUtil.writeAscii(out, method);
        out.writeByte(' ');
        ByteBufUtil.writeAscii(out, target);
        out.writeBytes(HTTP11_SP_REV);
    }

    private static final byte[] HTTP11_SP_REV = " HTTP/1.1\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] HTTP11_SP = "HTTP/1.1 ".getBytes(StandardCharsets.US_ASCII);

    /** Appends the request line of a parsed request, keeping its target bytes. */
    public static void requestLine(ByteBuf out, Http1Head head) {
        ByteBufUtil.writeAscii(out, head.method());
        out.writeByte(' ');
        out.writeBytes(head.buffer(), head.targetStart(), head.targetEnd() - head.targetStart());
        out.writeBytes(HTTP11_SP_REV);
    }

    /** Appends {@code HTTP/1.1 status reason CRLF}, keeping the reason phrase of a parsed response. */
    public static void statusLine(ByteBuf out, Http1Head response) {
        out.writeBytes(HTTP11_SP);
        writeStatus(out, response.status());
        out.writeByte(' ');
        out.writeBytes(response.buffer(), response.reasonStart(), response.reasonEnd() - response.reasonStart());
        out.writeBytes(CRLF_BYTES);
    }

    /** Appends {@code HTTP/1.1 status reason CRLF} with the standard reason phrase. */
    public static void statusLine(ByteBuf out, int status) {
        out.writeBytes(HTTP11_SP);
        writeStatus(out, status);
        out.writeByte(' ');
        ByteBufUtil.writeAscii(out, Reasons.of(status));
        out.writeBytes(CRLF_BYTES);
    }

    private static void writeStatus(ByteBuf out, int status) {
        out.writeByte('0' + status / 100).writeByte('0' + status / 10 % 10).writeByte('0' + status % 10);
    }

    /** Appends {@code Content-Length: n CRLF}. */
    public static void contentLength(ByteBuf out, long length) {
        out.writeBytes(CONTENT_LENGTH);
        writeDecimal(out, length);
        out.writeBytes(CRLF_BYTES);
    }

    private static final byte[] CONTENT_LENGTH = "Content-Length: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TE_CHUNKED = "Transfer-Encoding: chunked\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION_CLOSE = "Connection: close\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CONNECTION_KEEP_ALIVE =
            "Connection: keep-alive\r\n".getBytes(StandardCharsets.US_ASCII);

    /** Appends {@code Transfer-Encoding: chunked CRLF}. */
    public static void chunked(ByteBuf out) {
        out.writeBytes(TE_CHUNKED);
    }

    /** Appends {@code Connection: close CRLF}. */
    public static void connectionClose(ByteBuf out) {
        out.writeBytes(CONNECTION_CLOSE);
    }

    /** Appends {@code Connection: keep-alive CRLF}. */
    public static void connectionKeepAlive(ByteBuf out) {
        out.writeBytes(CONNECTION_KEEP_ALIVE);
    }

    /** Appends the blank line that ends a head. */
    public static void endHead(ByteBuf out) {
        out.writeBytes(CRLF_BYTES);
    }

    /** Appends a decimal number without allocating. */
    public static void writeDecimal(ByteBuf out, long value) {
        if (value == 0) {
            out.writeByte('0');
            return;
        }
        int digits = 0;
        for (long v = value; v > 0; v /= 10) {
            digits++;
        }
        int at = out.writerIndex() + digits;
        out.ensureWritable(digits);
        for (long v = value; v > 0; v /= 10) {
            out.setByte(--at, (int) ('0' + v % 10));
        }
        out.writerIndex(out.writerIndex() + digits);
    }

    /** A chunk header: the size in hex and CRLF. */
    public static ByteBuf chunkHeader(io.netty.buffer.ByteBufAllocator alloc, int size) {
        ByteBuf out = alloc.buffer(10);
        int digits = 1;
        for (int v = size >>> 4; v != 0; v >>>= 4) {
            digits++;
        }
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) {
            out.writeByte(HEX[size >>> shift & 0xF]);
        }
        out.writeBytes(CRLF_BYTES);
        return out;
    }

    /** The CRLF after chunk data (shared, never released). */
    public static ByteBuf crlf() {
        return CRLF.duplicate();
    }

    /** The last chunk with no trailers (shared, never released). */
    public static ByteBuf lastChunk() {
        return LAST_CHUNK.duplicate();
    }

    /** The last chunk followed by trailer field lines and the final CRLF. */
    public static ByteBuf lastChunk(io.netty.buffer.ByteBufAllocator alloc, ByteBuf trailers) {
        ByteBuf out = alloc.buffer(5 + trailers.readableBytes());
        out.writeByte('0').writeBytes(CRLF_BYTES);
        out.writeBytes(trailers, trailers.readerIndex(), trailers.readableBytes());
        out.writeBytes(CRLF_BYTES);
        return out;
    }
}
