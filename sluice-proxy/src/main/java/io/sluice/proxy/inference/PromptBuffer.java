package io.sluice.proxy.inference;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import tools.jackson.core.JsonParser;

/**
 * The rendered prompt of a request, built as UTF-8 bytes while the body is parsed.
 *
 * <p>Prompt strings are the bulk of an LLM request (220 KB is common), so {@link #appendString} copies a JSON
 * string's bytes straight from the body when they need no decoding: printable ASCII without escapes, whose UTF-8 is
 * the JSON text itself. The check is one table load per byte; the parser then only skips the string (it never builds a
 * {@code String} of it). Any other string (escapes, non-ASCII, control characters) goes through Jackson's
 * {@code getString()} and is encoded as before, so the bytes are the same either way and invalid input is still
 * rejected by the parser. On a 220 KB chat request this takes the prompt from six passes over the text with
 * char/byte conversions to three plain ones (scan, copy, the parser's skip).
 */
final class PromptBuffer {

    /** Bytes that end the fast path: control characters, non-ASCII, the quote and the backslash. */
    private static final boolean[] SPECIAL = new boolean[256];

    static {
        for (int c = 0; c < 256; c++) {
            SPECIAL[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
        }
    }

    private byte[] bytes;
    private int length;

    PromptBuffer(int capacity) {
        bytes = new byte[Math.max(16, capacity)];
    }

    /** Appends text (role markers, strings the parser decoded) as UTF-8. */
    void append(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        append(b, 0, b.length);
    }

    /** Appends another buffer's bytes. */
    void append(PromptBuffer other) {
        append(other.bytes, 0, other.length);
    }

    /** Empties the buffer (keeping its capacity). */
    void clear() {
        length = 0;
    }

    void append(byte[] src, int from, int n) {
        if (length + n > bytes.length) {
            bytes = Arrays.copyOf(bytes, Math.max(length + n, bytes.length * 2));
        }
        System.arraycopy(src, from, bytes, length, n);
        length += n;
    }

    /**
     * Appends the value of the string token the parser is on, the parser having been created over
     * {@code body[0, bodyLength)} (so token offsets are body offsets).
     */
    void appendString(JsonParser p, byte[] body, int bodyLength) {
        long at = p.currentTokenLocation().getByteOffset();
        if (at >= 0 && at < bodyLength && body[(int) at] == '"') {
            int start = (int) at + 1;
            int end = plainEnd(body, start, bodyLength);
            if (end >= 0) {
                append(body, start, end - start);
                return;
            }
        }
        append(p.getString());
    }

    /**
     * The offset of the closing quote of a JSON string whose content starts at {@code start}, if everything before
     * it is printable ASCII other than a backslash; -1 otherwise (the caller decodes the string the slow way).
     */
    static int plainEnd(byte[] b, int start, int limit) {
        int i = start;
        // One table load per byte, the loop Jackson itself uses to skip strings (faster here than 8-byte words).
        while (i < limit && !SPECIAL[b[i] & 0xFF]) {
            i++;
        }
        return i < limit && b[i] == '"' ? i : -1;
    }

    /** The bytes so far (a copy of exactly {@link #length()} bytes). */
    byte[] toByteArray() {
        return Arrays.copyOf(bytes, length);
    }

    int length() {
        return length;
    }
}
