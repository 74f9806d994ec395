package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.List;

/**
 * A strict, incremental HTTP/1.1 message parser (RFC 9112) for both directions of a proxy.
 *
 * <p>Strictness is the point: a request that two HTTP implementations could read differently is the raw material
 * of request smuggling, so whatever RFC 9112 lets a recipient reject is rejected before anything is forwarded —
 * conflicting or duplicated {@code Content-Length}, {@code Transfer-Encoding} other than a single {@code chunked}
 * (or on HTTP/1.0), both framing headers at once, obsolete line folding, bare CR or LF line endings, whitespace
 * before a colon, control characters in values, missing or repeated {@code Host}, malformed chunk sizes and chunk
 * delimiters, oversized lines and heads. Requests get 400 (414 for a long request line, 431 for large heads, 505 for
 * a foreign major version, 417 for an unknown expectation); responses from a backend that break these rules are a
 * protocol error (the proxy answers 502). Responses are read a little more leniently where RFC 9112 asks for it:
 * {@code Transfer-Encoding} overrides {@code Content-Length} (and the connection is not reused), identical duplicate
 * lengths are accepted, and a body without framing runs until the connection closes.
 *
 * <p>The parser works on a buffer the caller accumulates. It consumes what it can, emits the head as an
 * {@link Http1Head} (a copy of the head bytes with offsets), the body as retained slices (no copy) and the end of
 * the message with its trailer bytes, and leaves a partial line in the buffer for the next call. Scanning for the
 * end of a head resumes where it stopped, so a head sent a byte at a time costs linear time. The listener may
 * {@link #pause()} it at any point (for instance until an upstream connection is ready); the unread bytes then stay
 * in the caller's buffer until {@link #resume()}.
 */
public final class Http1Parser {

    /** What the parser produces. */
    public interface Listener {

        /** A complete head. The listener owns it and must release it. */
        void onHead(Http1Head head);

        /** A piece of the body. The listener owns the slice and must release it. */
        void onBody(ByteBuf content);

        /**
         * The end of the message.
         *
         * @param trailers the raw trailer field lines (each ending in CRLF, without the final blank line), or an
         *                 empty buffer; the listener owns it
         */
        void onEnd(ByteBuf trailers);

        /** The message is malformed: the status to answer (requests) and why. Nothing more is parsed. */
        void onError(int status, String reason);
    }

    private enum State { HEAD, FIXED, CHUNK_SIZE, CHUNK_DATA, CHUNK_CRLF, TRAILERS, UNTIL_CLOSE, UPGRADED, ERROR }

    private static final int MAX_CHUNK_LINE = 4096;
    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private final boolean request;
    private final Listener listener;
    private final ByteBufAllocator alloc;
    private final int maxLineBytes;
    private final int maxHeadBytes;
    private final int maxHeaders;

    private State state = State.HEAD;
    private boolean paused;
    private long remaining;
    // Head scanning, relative to the reader index: how far we looked, and whether the last line seen was empty.
    private int scanned;
    private int lineStart;
    private boolean firstLineDone;
    // Responses: the request was HEAD, so no body follows whatever the head says.
    private boolean noBodyExpected;

    /**
     * Creates a parser.
     *
     * @param request      true to parse requests, false for responses
     * @param listener     receives what is parsed
     * @param alloc        allocates head copies
     * @param maxLineBytes longest start line
     * @param maxHeadBytes longest head (start line and fields)
     * @param maxHeaders   most header fields
     */
    public Http1Parser(boolean request, Listener listener, ByteBufAllocator alloc, int maxLineBytes,
                       int maxHeadBytes, int maxHeaders) {
        this.request = request;
        this.listener = listener;
        this.alloc = alloc;
        this.maxLineBytes = maxLineBytes;
        this.maxHeadBytes = maxHeadBytes;
        this.maxHeaders = maxHeaders;
    }

    /** Stops parsing until {@link #resume()}; unread bytes stay in the caller's buffer. */
    public void pause() {
        paused = true;
    }

    /** Allows parsing again; the caller then calls {@link #parse} with its buffer. */
    public void resume() {
        paused = false;
    }

    /** True while paused. */
    public boolean paused() {
        return paused;
    }

    /** True between messages (nothing of the next head consumed yet). */
    public boolean idle() {
        return state == State.HEAD && scanned == 0;
    }

    /** True once an error was reported. */
    public boolean failed() {
        return state == State.ERROR;
    }

    /** For responses: the next response answers a HEAD request, so it has no body. */
    public void expectNoBody(boolean value) {
        this.noBodyExpected = value;
    }

    /** After a 101 or a successful CONNECT: every further byte is tunnel data, passed through as body. */
    public void upgrade() {
        state = State.UPGRADED;
    }

    /** True if the message in progress is delimited by the connection closing. */
    public boolean readsUntilClose() {
        return state == State.UNTIL_CLOSE;
    }

    /**
     * Consumes what it can of {@code in} (advancing its reader index) and reports what it parsed. Returns when more
     * bytes are needed, when paused, or after an error.
     */
    public void parse(ByteBuf in) {
        while (!paused && in.isReadable()) {
            switch (state) {
                case HEAD -> {
                    if (!parseHead(in)) {
                        return;
                    }
                }
                case FIXED -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    remaining -= n;
                    listener.onBody(in.readRetainedSlice(n));
                    if (remaining == 0) {
                        endMessage(Unpooled.EMPTY_BUFFER);
                    }
                }
                case CHUNK_SIZE -> {
                    if (!parseChunkSize(in)) {
                        return;
                    }
                }
                case CHUNK_DATA -> {
                    int n = (int) Math.min(remaining, in.readableBytes());
                    remaining -= n;
                    listener.onBody(in.readRetainedSlice(n));
                    if (remaining == 0) {
                        state = State.CHUNK_CRLF;
                    }
                }
                case CHUNK_CRLF -> {
                    if (in.readableBytes() < 2) {
                        if (in.getByte(in.readerIndex()) != CR) {
                            fail(400, "chunk data not followed by CRLF");
                        }
                        return;
                    }
                    if (in.readByte() != CR || in.readByte() != LF) {
                        fail(400, "chunk data not followed by CRLF");
                        return;
                    }
                    state = State.CHUNK_SIZE;
                }
                case TRAILERS -> {
                    if (!parseTrailers(in)) {
                        return;
                    }
                }
                case UNTIL_CLOSE, UPGRADED -> listener.onBody(in.readRetainedSlice(in.readableBytes()));
                case ERROR -> {
                    in.skipBytes(in.readableBytes());
                    return;
                }
                default -> throw new IllegalStateException(state.name());
            }
        }
    }

    /**
     * The connection closed. Ends a body delimited by the close; reports a truncated message otherwise.
     *
     * @return true if a message was cut short
     */
    public boolean inputClosed() {
        if (state == State.UNTIL_CLOSE) {
            endMessage(Unpooled.EMPTY_BUFFER);
            return false;
        }
        return !(state == State.HEAD && scanned == 0) && state != State.ERROR && state != State.UPGRADED;
    }

    // ---------------------------------------------------------------- head

    private boolean parseHead(ByteBuf in) {
        int base = in.readerIndex();
        int end = in.writerIndex();
        int pos = base + scanned;
        while (true) {
            int lf = in.indexOf(pos, end, LF);
            if (lf < 0) {
                scanned = end - base;
                checkHeadLimits(scanned, !firstLineDone);
                return false;
            }
            int lineLen = lf - (base + lineStart);
            if (!firstLineDone && lineStart == 0 && (lineLen == 0 || lineLen == 1 && in.getByte(lf - 1) == CR)) {
                // RFC 9112 §2.2: ignore empty lines before a request line (leftover CRLF after a body).
                if (lineLen == 0) {
                    fail(400, "bare LF line ending");
                    return false;
                }
                in.readerIndex(lf + 1);
                base = lf + 1;
                scanned = 0;
                pos = base;
                continue;
            }
            if (!firstLineDone) {
                firstLineDone = true;
                if (lineLen > maxLineBytes) {
                    fail(request ? 414 : 502, "start line longer than " + maxLineBytes + " bytes");
                    return false;
                }
            }
            if (lf - base + 1 > maxHeadBytes) {
                fail(request ? 431 : 502, "head larger than " + maxHeadBytes + " bytes");
                return false;
            }
            boolean empty = lineLen == 0 || lineLen == 1 && in.getByte(lf - 1) == CR;
            if (empty && lineStart > 0) {
                int headLen = lf + 1 - base;
                ByteBuf copy = alloc.buffer(headLen);
                copy.writeBytes(in, base, headLen);
                in.readerIndex(lf + 1);
                scanned = 0;
                lineStart = 0;
                firstLineDone = false;
                decodeHead(copy);
                return state != State.ERROR;
            }
            lineStart = lf + 1 - base;
            pos = lf + 1;
        }
    }

    private void checkHeadLimits(int scannedBytes, boolean inFirstLine) {
        if (inFirstLine && scannedBytes > maxLineBytes) {
            fail(request ? 414 : 502, "start line longer than " + maxLineBytes + " bytes");
        } else if (scannedBytes > maxHeadBytes) {
            fail(request ? 431 : 502, "head larger than " + maxHeadBytes + " bytes");
        }
    }

    private void decodeHead(ByteBuf buf) {
        Http1Head head = new Http1Head(buf, request);
        String error = null;
        int status = request ? 400 : 502;
        try {
            HeadDecoder decoder = new HeadDecoder(head, buf, request, maxHeaders);
            error = decoder.decode();
            if (error != null) {
                status = decoder.status();
            }
        } catch (RuntimeException e) {
            error = "malformed head: " + e.getMessage();
        }
        if (error != null) {
            head.release();
            fail(status, error);
            return;
        }
        boolean hasBody;
        if (request) {
            hasBody = head.chunked() || head.contentLength() > 0;
            state = head.chunked() ? State.CHUNK_SIZE : State.FIXED;
            remaining = Math.max(0, head.contentLength());
        } else {
            int s = head.status();
            boolean bodiless = noBodyExpected || s / 100 == 1 || s == 204 || s == 304;
            if (bodiless) {
                hasBody = false;
            } else if (head.chunked()) {
                hasBody = true;
                state = State.CHUNK_SIZE;
            } else if (head.contentLength() >= 0) {
                hasBody = head.contentLength() > 0;
                state = State.FIXED;
                remaining = head.contentLength();
            } else {
                hasBody = true;
                state = State.UNTIL_CLOSE;
            }
            if (s / 100 == 1) {
                // An interim response: the final one follows with its own head.
                state = State.HEAD;
                listener.onHead(head);
                return;
            }
        }
        listener.onHead(head);
        if (!hasBody && state != State.UPGRADED) {
            endMessage(Unpooled.EMPTY_BUFFER);
        }
    }

    // ---------------------------------------------------------------- chunks

    private boolean parseChunkSize(ByteBuf in) {
        int start = in.readerIndex();
        int limit = Math.min(in.writerIndex(), start + MAX_CHUNK_LINE);
        int lf = in.indexOf(start, limit, LF);
        if (lf < 0) {
            if (in.writerIndex() - start >= MAX_CHUNK_LINE) {
                fail(request ? 400 : 502, "chunk size line too long");
            }
            return false;
        }
        if (lf == start || in.getByte(lf - 1) != CR) {
            fail(request ? 400 : 502, "chunk size line not ended by CRLF");
            return false;
        }
        int endOfLine = lf - 1;
        long size = 0;
        int i = start;
        int digits = 0;
        for (; i < endOfLine; i++) {
            int d = Character.digit(in.getByte(i), 16);
            if (d < 0) {
                break;
            }
            if (++digits > 15) {
                fail(request ? 400 : 502, "chunk size too large");
                return false;
            }
            size = size << 4 | d;
        }
        if (digits == 0) {
            fail(request ? 400 : 502, "invalid chunk size");
            return false;
        }
        // Optional chunk extensions: BWS ";" ... with no control characters (RFC 9112 §7.1.1).
        int j = i;
        while (j < endOfLine && (in.getByte(j) == ' ' || in.getByte(j) == '\t')) {
            j++;
        }
        if (j < endOfLine) {
            if (in.getByte(j) != ';') {
                fail(request ? 400 : 502, "invalid chunk size");
                return false;
            }
            for (int k = j; k < endOfLine; k++) {
                byte b = in.getByte(k);
                if (!AsciiBytes.isFieldValueByte(b)) {
                    fail(request ? 400 : 502, "invalid character in chunk extension");
                    return false;
                }
            }
        } else if (j != i) {
            fail(request ? 400 : 502, "whitespace after chunk size");
            return false;
        }
        in.readerIndex(lf + 1);
        if (size == 0) {
            state = State.TRAILERS;
            scanned = 0;
        } else {
            remaining = size;
            state = State.CHUNK_DATA;
        }
        return true;
    }

    private boolean parseTrailers(ByteBuf in) {
        int base = in.readerIndex();
        int end = in.writerIndex();
        // 'scanned' always points at the start of a line not yet complete.
        int pos = base + scanned;
        while (true) {
            int lf = in.indexOf(pos, end, LF);
            if (lf < 0) {
                scanned = pos - base;
                if (end - base > maxHeadBytes) {
                    fail(request ? 431 : 502, "trailers larger than " + maxHeadBytes + " bytes");
                }
                return false;
            }
            if (lf == pos || in.getByte(lf - 1) != CR) {
                fail(request ? 400 : 502, "bare LF line ending in trailers");
                return false;
            }
            if (lf - 1 == pos) {
                // A blank line: the end of the message.
                int trailerLen = pos - base;
                ByteBuf trailers = trailerLen == 0 ? Unpooled.EMPTY_BUFFER : in.readRetainedSlice(trailerLen);
                String problem = trailerLen == 0 ? null : HeadDecoder.checkFieldLines(trailers);
                in.readerIndex(lf + 1);
                scanned = 0;
                if (problem != null) {
                    trailers.release();
                    fail(request ? 400 : 502, "bad trailer: " + problem);
                    return false;
                }
                endMessage(trailers);
                return true;
            }
            pos = lf + 1;
        }
    }

    // ---------------------------------------------------------------- end and errors

    private void endMessage(ByteBuf trailers) {
        state = State.HEAD;
        noBodyExpected = false;
        remaining = 0;
        if (request) {
            // Pipelined requests wait until the listener has answered this one.
            paused = true;
        }
        listener.onEnd(trailers);
    }

    private void fail(int status, String reason) {
        if (state == State.ERROR) {
            return;
        }
        state = State.ERROR;
        listener.onError(status, reason);
    }

    /** Splits a comma-separated header value into trimmed, lower-cased, non-empty items. */
    static List<String> listItems(String value) {
        List<String> items = new ArrayList<>(2);
        for (String part : value.split(",")) {
            String t = part.strip();
            if (!t.isEmpty()) {
                items.add(t.toLowerCase(java.util.Locale.ROOT));
            }
        }
        return items;
    }
}
