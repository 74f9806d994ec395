package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Writer;

/**
 * The request body of an exchange on its way to the endpoint.
 *
 * <p>Usually streamed through as it arrives, framed as the client framed it (chunked or with a length), while a
 * {@link RequestReplay} keeps what it can for a retry; between tries the client is held and what arrives is only
 * kept. An inference request's body is instead read whole before any endpoint is picked ({@link #readWhole}) and
 * sent with a {@code Content-Length}. {@code Expect: 100-continue} is answered once, when Sluice is ready to read.
 *
 * <p>Runs on the exchange's event loop.
 */
final class RequestBody {

    private final Http1ServerHandler client;
    private final Http1Head request;
    private final boolean bodyless;
    private RequestReplay replay = new RequestReplay(0, false);
    private boolean started;
    private boolean ended;
    private boolean continueSent;
    /** The length of a body read whole (sent with a Content-Length); else -1. */
    private long wholeLength = -1;
    private long bytes;
    /** The current try's connection while it may take body bytes, else null. */
    private Channel up;
    private boolean needsFlush;

    RequestBody(Http1ServerHandler client, Http1Head request) {
        this.client = client;
        this.request = request;
        this.bodyless = !request.chunked() && request.contentLength() <= 0;
        this.ended = bodyless;
    }

    /** Starts keeping the body for retries: up to {@code limit} bytes, if {@code enabled}. */
    void keepForRetries(long limit, boolean enabled) {
        replay = new RequestReplay(limit, enabled && !bodyless && request.contentLength() <= limit);
    }

    /** True if the request has no body. */
    boolean bodyless() {
        return bodyless;
    }

    /** True once the whole body has been read from the client. */
    boolean ended() {
        return ended;
    }

    /** Body bytes read from the client. */
    long bytes() {
        return bytes;
    }

    /** The length to announce for a body read whole, or -1 to keep the client's framing. */
    long wholeLength() {
        return wholeLength;
    }

    /** True if the whole request can be sent again: no body, none of it read yet, or all of it kept. */
    boolean replayable() {
        return bodyless || !started || replay.intact();
    }

    /** Releases the kept copy: no retry can follow (the response is being forwarded, or the exchange ended). */
    void releaseReplay() {
        replay.release();
    }

    /** Answers {@code Expect: 100-continue} once, when Sluice is ready to read the body. */
    void sendContinue() {
        if (request.expectContinue() && !continueSent) {
            continueSent = true;
            ByteBuf cont = client.ctx().alloc().buffer(32);
            Http1Writer.statusLine(cont, 100);
            Http1Writer.endHead(cont);
            client.ctx().writeAndFlush(cont, client.ctx().voidPromise());
        }
    }

    /** Counts body bytes read for someone else (an inference request's body being read whole). */
    void counted(int n) {
        bytes += n;
    }

    /** The body was read whole (an inference request, possibly rewritten): it is sent as this buffer. */
    void readWhole(ByteBuf whole) {
        replay.release();
        replay = new RequestReplay(Long.MAX_VALUE, true);
        wholeLength = whole.readableBytes();
        replay.add(whole);
        whole.release();
        started = true;
        ended = true;
    }

    /** The end of a body read whole. */
    void endedWhole() {
        ended = true;
    }

    /**
     * A try got its connection (the request head is written): sends the body read so far, and the end if it was
     * read; otherwise lets the client send the rest.
     *
     * @return true if the whole request is now written
     */
    boolean attach(Channel channel) {
        up = channel;
        needsFlush = true;
        if (started) {
            // A retry, or a body read whole: send what was read before streaming the rest.
            replay.writeTo(channel, chunkedOut());
        }
        if (ended) {
            if (!bodyless) {
                writeEnd(replay.trailersForWrite());
            }
            return true;
        }
        sendContinue();
        client.releaseRequestBody();
        return false;
    }

    /** The try ended: later bytes are only kept, until the next {@link #attach}. */
    void detach() {
        up = null;
        needsFlush = false;
    }

    /** A chunk of the body from the client (released here or passed on). */
    void chunk(ByteBuf content) {
        started = true;
        int n = content.readableBytes();
        bytes += n;
        replay.add(content);
        Channel c = up;
        if (c == null) {
            // Between tries: kept in the replay buffer if it fits, else the request can no longer be retried.
            content.release();
            return;
        }
        if (chunkedOut()) {
            c.write(Http1Writer.chunkHeader(c.alloc(), n), c.voidPromise());
            c.write(content, c.voidPromise());
            c.write(Http1Writer.crlf(), c.voidPromise());
        } else {
            c.write(content, c.voidPromise());
        }
        needsFlush = true;
        if (!c.isWritable()) {
            client.setReading(false);
        }
    }

    /**
     * The end of the body from the client (releases the trailers).
     *
     * @return true if it was written to a connection: the whole request is now sent
     */
    boolean end(ByteBuf trailers) {
        ended = true;
        replay.end(trailers);
        if (up == null) {
            trailers.release();
            return false;
        }
        writeEnd(trailers);
        return true;
    }

    /** Flushes what was written since the last flush. */
    void flush() {
        if (needsFlush && up != null) {
            needsFlush = false;
            up.flush();
        }
    }

    /** Flushes now (the request is complete). */
    void flushAll() {
        needsFlush = false;
        if (up != null) {
            up.flush();
        }
    }

    private boolean chunkedOut() {
        return wholeLength < 0 && request.chunked();
    }

    /** Writes the end of a chunked body (the last chunk and trailers); releases the trailers. */
    private void writeEnd(ByteBuf trailers) {
        Channel c = up;
        if (chunkedOut()) {
            if (trailers.isReadable()) {
                c.write(Http1Writer.lastChunk(c.alloc(), trailers), c.voidPromise());
            } else {
                c.write(Http1Writer.lastChunk(), c.voidPromise());
            }
        }
        trailers.release();
    }
}
