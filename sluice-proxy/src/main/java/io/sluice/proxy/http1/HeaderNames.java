package io.sluice.proxy.http1;

/** Lower-case header names the proxy looks at, as bytes for allocation-free comparison. */
public final class HeaderNames {

    public static final byte[] HOST = AsciiBytes.bytes("host");
    public static final byte[] CONTENT_LENGTH = AsciiBytes.bytes("content-length");
    public static final byte[] TRANSFER_ENCODING = AsciiBytes.bytes("transfer-encoding");
    public static final byte[] CONNECTION = AsciiBytes.bytes("connection");
    public static final byte[] KEEP_ALIVE = AsciiBytes.bytes("keep-alive");
    public static final byte[] PROXY_CONNECTION = AsciiBytes.bytes("proxy-connection");
    public static final byte[] TE = AsciiBytes.bytes("te");
    public static final byte[] UPGRADE = AsciiBytes.bytes("upgrade");
    public static final byte[] EXPECT = AsciiBytes.bytes("expect");
    public static final byte[] X_REQUEST_ID = AsciiBytes.bytes("x-request-id");
    public static final byte[] X_FORWARDED_FOR = AsciiBytes.bytes("x-forwarded-for");
    public static final byte[] X_FORWARDED_PROTO = AsciiBytes.bytes("x-forwarded-proto");
    public static final byte[] X_FORWARDED_HOST = AsciiBytes.bytes("x-forwarded-host");
    public static final byte[] FORWARDED = AsciiBytes.bytes("forwarded");
    public static final byte[] VIA = AsciiBytes.bytes("via");
    public static final byte[] COOKIE = AsciiBytes.bytes("cookie");
    public static final byte[] RETRY_AFTER = AsciiBytes.bytes("retry-after");
    public static final byte[] TRAILER = AsciiBytes.bytes("trailer");

    /**
     * Fields that describe one connection and are never forwarded (RFC 9110 §7.6.1, plus the framing fields the
     * proxy regenerates and the non-standard Proxy-Connection).
     */
    static final byte[][] HOP_BY_HOP = {CONNECTION, KEEP_ALIVE, PROXY_CONNECTION, TE, TRANSFER_ENCODING, UPGRADE,
        CONTENT_LENGTH};

    private HeaderNames() {
    }
}
