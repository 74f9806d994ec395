package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Locale;
import java.util.Optional;

/**
 * A parsed HTTP/1.x request or response head, kept as the original bytes plus offsets.
 *
 * <p>Header names and values are not turned into strings unless someone asks for one: forwarding copies the bytes
 * of each kept header straight into the outgoing head, and lookups compare bytes. This keeps the per-request cost
 * of a proxied request to one small copy of its head. The head owns its buffer; {@link #release()} it when the
 * exchange is over.
 */
public final class Http1Head implements ReferenceCounted {

    private final ByteBuf buf;
    private final boolean request;
    // Request line or status line.
    private String method = "";
    private int targetStart;
    private int targetEnd;
    private int minorVersion;
    private int status;
    private int reasonStart;
    private int reasonEnd;
    // Headers: four ints per field (name start, name end, value start, value end), absolute in buf.
    private int[] fields = new int[64];
    private int count;
    // Framing, decided by the parser.
    private long contentLength = -1;
    private boolean chunked;
    private boolean connectionClose;
    private boolean connectionKeepAlive;
    private boolean connectionUpgrade;
    private boolean expectContinue;
    private int hostField = -1;
    private long connectionTokensMask;
    private String[] connectionTokens;

    Http1Head(ByteBuf buf, boolean request) {
        this.buf = buf;
        this.request = request;
    }

    /** The head's bytes (from the first byte of the start line to the blank line, inclusive). */
    public ByteBuf buffer() {
        return buf;
    }

    /** True for a request head, false for a response head. */
    public boolean isRequest() {
        return request;
    }

    /** The request method, e.g. {@code GET}. */
    public String method() {
        return method;
    }

    /** The request target exactly as sent. */
    public String target() {
        return AsciiBytes.string(buf, targetStart, targetEnd);
    }

    /** Start of the request target in the buffer. */
    int targetStart() {
        return targetStart;
    }

    /** End of the request target in the buffer. */
    int targetEnd() {
        return targetEnd;
    }

    /** 0 for HTTP/1.0, 1 for HTTP/1.1 (later 1.x minors are treated as 1.1). */
    public int minorVersion() {
        return minorVersion;
    }

    /** The response status. */
    public int status() {
        return status;
    }

    /** Number of header fields. */
    public int size() {
        return count;
    }

    /** Start offset of field i's name. */
    int nameStart(int i) {
        return fields[i * 4];
    }

    /** End offset of field i's name. */
    int nameEnd(int i) {
        return fields[i * 4 + 1];
    }

    /** Start offset of field i's value (leading whitespace removed). */
    int valueStart(int i) {
        return fields[i * 4 + 2];
    }

    /** End offset of field i's value (trailing whitespace removed). */
    int valueEnd(int i) {
        return fields[i * 4 + 3];
    }

    /** Field i's name as sent. */
    public String name(int i) {
        return AsciiBytes.string(buf, nameStart(i), nameEnd(i));
    }

    /** Field i's value. */
    public String value(int i) {
        return AsciiBytes.string(buf, valueStart(i), valueEnd(i));
    }

    /** True if field i's name equals the lower-case name, ignoring case. */
    public boolean nameIs(int i, byte[] lowerName) {
        return AsciiBytes.equalsLower(buf, nameStart(i), nameEnd(i), lowerName);
    }

    /** Index of the first field with this lower-case name, or -1. */
    public int indexOf(byte[] lowerName) {
        for (int i = 0; i < count; i++) {
            if (nameIs(i, lowerName)) {
                return i;
            }
        }
        return -1;
    }

    /** The value of the first field with this name, ignoring case. */
    public Optional<String> get(String name) {
        int i = indexOf(AsciiBytes.bytes(name.toLowerCase(Locale.ROOT)));
        return i < 0 ? Optional.empty() : Optional.of(value(i));
    }

    /** The declared Content-Length, or -1. */
    public long contentLength() {
        return contentLength;
    }

    /** True if the body is chunked. */
    public boolean chunked() {
        return chunked;
    }

    /** True if the sender asked to close the connection after this message. */
    public boolean connectionClose() {
        return connectionClose;
    }

    /** True if an HTTP/1.0 sender asked to keep the connection open. */
    public boolean connectionKeepAlive() {
        return connectionKeepAlive;
    }

    /** True if {@code Connection: upgrade} was sent. */
    public boolean connectionUpgrade() {
        return connectionUpgrade;
    }

    /** True if the request carries {@code Expect: 100-continue}. */
    public boolean expectContinue() {
        return expectContinue;
    }

    /** Index of the Host field, or -1. */
    public int hostField() {
        return hostField;
    }

    /** True if the connection persists after this message, by the HTTP version and Connection header. */
    public boolean keepAlive() {
        return minorVersion >= 1 ? !connectionClose : connectionKeepAlive && !connectionClose;
    }

    /**
     * True if field i must not be forwarded: the hop-by-hop fields of RFC 9110 §7.6.1, the fields named by
     * Connection, and the framing fields the proxy rewrites itself.
     */
    public boolean hopByHop(int i) {
        int len = nameEnd(i) - nameStart(i);
        for (byte[] name : HeaderNames.HOP_BY_HOP) {
            if (name.length == len && nameIs(i, name)) {
                return true;
            }
        }
        if (connectionTokens != null) {
            for (String token : connectionTokens) {
                if (token.length() == len && name(i).equalsIgnoreCase(token)) {
                    return true;
                }
            }
        }
        return false;
    }

    // ----- written by the parser -----

    void requestLine(String method, int targetStart, int targetEnd, int minorVersion) {
        this.method = method;
        this.targetStart = targetStart;
        this.targetEnd = targetEnd;
        this.minorVersion = minorVersion;
    }

    void statusLine(int minorVersion, int status, int reasonStart, int reasonEnd) {
        this.minorVersion = minorVersion;
        this.status = status;
        this.reasonStart = reasonStart;
        this.reasonEnd = reasonEnd;
    }

    /** Start of the reason phrase in the buffer. */
    int reasonStart() {
        return reasonStart;
    }

    /** End of the reason phrase in the buffer. */
    int reasonEnd() {
        return reasonEnd;
    }

    void addField(int nameStart, int nameEnd, int valueStart, int valueEnd) {
        if ((count + 1) * 4 > fields.length) {
            int[] bigger = new int[fields.length * 2];
            System.arraycopy(fields, 0, bigger, 0, fields.length);
            fields = bigger;
        }
        int at = count * 4;
        fields[at] = nameStart;
        fields[at + 1] = nameEnd;
        fields[at + 2] = valueStart;
        fields[at + 3] = valueEnd;
        count++;
    }

    void framing(long contentLength, boolean chunked) {
        this.contentLength = contentLength;
        this.chunked = chunked;
    }

    void connection(boolean close, boolean keepAlive, boolean upgrade, String[] tokens) {
        this.connectionClose = close;
        this.connectionKeepAlive = keepAlive;
        this.connectionUpgrade = upgrade;
        this.connectionTokens = tokens;
    }

    void expectContinue(boolean value) {
        this.expectContinue = value;
    }

    void hostField(int index) {
        this.hostField = index;
    }

    // ----- reference counting delegates to the buffer -----

    @Override
    public int refCnt() {
        return buf.refCnt();
    }

    @Override
    public Http1Head retain() {
        buf.retain();
        return this;
    }

    @Override
    public Http1Head retain(int increment) {
        buf.retain(increment);
        return this;
    }

    @Override
    public Http1Head touch() {
        buf.touch();
        return this;
    }

    @Override
    public Http1Head touch(Object hint) {
        buf.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return buf.release();
    }

    @Override
    public boolean release(int decrement) {
        return buf.release(decrement);
    }

    @Override
    public String toString() {
        return request ? method + " " + target() + " HTTP/1." + minorVersion : "HTTP/1." + minorVersion + " " + status;
    }
}
