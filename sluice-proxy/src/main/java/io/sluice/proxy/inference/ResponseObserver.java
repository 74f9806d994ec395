package io.sluice.proxy.inference;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Watches an inference response go by without changing it: notices the first token (the first SSE {@code data:}
 * event of a streamed response) and finds the token usage ({@code usage.prompt_tokens},
 * {@code usage.completion_tokens}) in the JSON body or in the last SSE event that carries it.
 *
 * <p>Bounded: a streamed response keeps only the current line (up to {@value #MAX_LINE} bytes) and the last line
 * that mentions {@code "usage"}; a JSON body is kept up to {@value #MAX_BODY} bytes (a longer one reports no usage).
 */
final class ResponseObserver {

    static final int MAX_LINE = 64 * 1024;
    static final int MAX_BODY = 1024 * 1024;
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] USAGE = "\"usage\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private final boolean sse;
    private byte[] buf = new byte[256];
    private int len;
    private boolean overflow;
    private byte[] usageLine;
    private boolean firstData;

    /** @param sse true if the response is {@code text/event-stream} */
    ResponseObserver(boolean sse) {
        this.sse = sse;
    }

    boolean sse() {
        return sse;
    }

    /**
     * Looks at a chunk of the response body.
     *
     * @return true if this chunk holds the first SSE data event
     */
    boolean body(ByteBuf content) {
        int from = content.readerIndex();
        int to = content.writerIndex();
        if (!sse) {
            if (!overflow) {
                int n = to - from;
                if (len + n > MAX_BODY) {
                    overflow = true;
                    buf = null;
                } else {
                    ensure(len + n);
                    content.getBytes(from, buf, len, n);
                    len += n;
                }
            }
            return false;
        }
        boolean first = false;
        for (int i = from; i < to; i++) {
            byte b = content.getByte(i);
            if (b == '\n') {
                first |= line();
                len = 0;
                overflow = false;
            } else if (!overflow) {
                if (len == MAX_LINE) {
                    overflow = true;
                } else {
                    ensure(len + 1);
                    buf[len++] = b;
                }
            }
        }
        return first;
    }

    /** A complete SSE line is in {@code buf[0, len)}: returns true if it is the first data event. */
    private boolean line() {
        int end = len > 0 && buf[len - 1] == '\r' ? len - 1 : len;
        if (end < 5 || buf[0] != 'd' || buf[1] != 'a' || buf[2] != 't' || buf[3] != 'a' || buf[4] != ':') {
            return false;
        }
        if (contains(buf, end, USAGE)) {
            usageLine = Arrays.copyOfRange(buf, 5, end);
        }
        if (!firstData) {
            firstData = true;
            return true;
        }
        return false;
    }

    private void ensure(int capacity) {
        if (capacity > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(capacity, buf.length * 2));
        }
    }

    private static boolean contains(byte[] a, int n, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= n; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (a[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    /** The usage found: {prompt tokens, completion tokens}, or null. */
    long[] usage() {
        if (sse) {
            return usageLine == null ? null : usageOf(usageLine, usageLine.length);
        }
        return overflow || len == 0 ? null : usageOf(buf, len);
    }

    /** Reads {@code usage} from a JSON object; null if absent or not JSON. */
    static long[] usageOf(byte[] json, int length) {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), json, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String name;
            while ((name = p.nextName()) != null) {
                JsonToken t = p.nextToken();
                if (name.equals("usage") && t == JsonToken.START_OBJECT) {
                    long[] out = {-1, -1};
                    String field;
                    while ((field = p.nextName()) != null) {
                        JsonToken v = p.nextToken();
                        if (v == JsonToken.VALUE_NUMBER_INT && field.equals("prompt_tokens")) {
                            out[0] = p.getLongValue();
                        } else if (v == JsonToken.VALUE_NUMBER_INT && field.equals("completion_tokens")) {
                            out[1] = p.getLongValue();
                        } else {
                            p.skipChildren();
                        }
                    }
                    return out;
                }
                p.skipChildren();
            }
            return null;
        } catch (JacksonException e) {
            return null;
        }
    }
}
