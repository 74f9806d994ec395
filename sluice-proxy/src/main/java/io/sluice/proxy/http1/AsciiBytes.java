package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;

/** Byte-level helpers for HTTP/1.1 text, which is ASCII on the wire (RFC 9112 §2.2). */
final class AsciiBytes {

    /** tchar of RFC 9110 §5.6.2, indexed by byte value. */
    private static final boolean[] TOKEN = new boolean[256];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
    }

    private AsciiBytes() {
    }

    /** True if the byte may appear in a token (method, header name). */
    static boolean isToken(byte b) {
        return TOKEN[b & 0xFF];
    }

    /** True if the byte may appear in a header value: VCHAR, SP, HTAB or obs-text; never a CTL. */
    static boolean isFieldValueByte(byte b) {
        int c = b & 0xFF;
        return c >= 0x20 && c != 0x7F || c == '\t';
    }

    /** Case-insensitive comparison of {@code buf[start, end)} with a lower-case ASCII name. */
    static boolean equalsLower(ByteBuf buf, int start, int end, byte[] lower) {
        if (end - start != lower.length) {
            return false;
        }
        for (int i = 0; i < lower.length; i++) {
            int c = buf.getByte(start + i);
            if (c >= 'A' && c <= 'Z') {
                c += 32;
            }
            if (c != lower[i]) {
                return false;
            }
        }
        return true;
    }

    /** The bytes of a lower-case ASCII string. */
    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Decodes ASCII bytes into a string (obs-text bytes become U+0080-U+00FF). */
    static String string(ByteBuf buf, int start, int end) {
        return buf.toString(start, end - start, StandardCharsets.ISO_8859_1);
    }
}
