package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;

/** Interned method names, so the common ones cost no allocation per request. */
final class Methods {

    private static final String[] KNOWN = {"GET", "PUT", "POST", "HEAD", "PATCH", "TRACE", "DELETE", "OPTIONS",
        "CONNECT", "PRI"};

    private Methods() {
    }

    /** The method in {@code buf[s, e)}: an interned constant when known, else a new string. */
    static String of(ByteBuf buf, int s, int e) {
        int len = e - s;
        outer:
        for (String m : KNOWN) {
            if (m.length() != len) {
                continue;
            }
            for (int i = 0; i < len; i++) {
                if (buf.getByte(s + i) != m.charAt(i)) {
                    continue outer;
                }
            }
            return m;
        }
        return AsciiBytes.string(buf, s, e);
    }

    /** True for methods that RFC 9110 §9.2.2 calls idempotent. */
    static boolean idempotent(String method) {
        return switch (method) {
            case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" -> true;
            default -> false;
        };
    }
}
