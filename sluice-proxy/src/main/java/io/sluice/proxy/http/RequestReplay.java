package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.sluice.proxy.http1.Http1Writer;
import java.util.ArrayList;
import java.util.List;

/**
 * The request body read so far, kept so that a retry can send the whole request again from its first byte.
 *
 * <p>Chunks are kept as retained duplicates of the buffers that were forwarded (no copy), as long as the body stays
 * within {@code max_body_buffer} (Envoy's {@code per_request_buffer_limit_bytes}). The first chunk past the limit
 * releases everything kept: the request can then no longer be retried once its body has started. A body whose
 * announced length is over the limit is never kept. Kept buffers are released when the response is forwarded (no
 * retry can follow) or the exchange ends, whichever comes first; {@link #release} may be called any number of times.
 */
final class RequestReplay {

    private final long limit;
    private List<ByteBuf> chunks;
    private ByteBuf trailers;
    private long size;
    private boolean intact;

    /**
     * @param limit   the most body bytes kept
     * @param enabled false when no retry could use the copy (one attempt, or a body announced over the limit)
     */
    RequestReplay(long limit, boolean enabled) {
        this.limit = limit;
        this.intact = enabled;
    }

    /** Keeps a forwarded body chunk (the caller keeps its own reference). */
    void add(ByteBuf chunk) {
        if (!intact) {
            return;
        }
        int n = chunk.readableBytes();
        if (size + n > limit) {
            release();
            return;
        }
        if (chunks == null) {
            chunks = new ArrayList<>(4);
        }
        size += n;
        chunks.add(chunk.retainedDuplicate());
    }

    /** Keeps the trailers of a chunked body (the caller keeps its own reference). */
    void end(ByteBuf endTrailers) {
        if (intact && endTrailers.isReadable()) {
            trailers = endTrailers.retainedDuplicate();
        }
    }

    /** True if every body byte read so far is kept, so the request can be sent again. */
    boolean intact() {
        return intact;
    }

    /** Writes the kept body to a new upstream connection, framed as the original ({@code chunked} or not). */
    void writeTo(Channel up, boolean chunked) {
        if (chunks == null) {
            return;
        }
        for (ByteBuf c : chunks) {
            if (chunked) {
                up.write(Http1Writer.chunkHeader(up.alloc(), c.readableBytes()), up.voidPromise());
                up.write(c.retainedDuplicate(), up.voidPromise());
                up.write(Http1Writer.crlf(), up.voidPromise());
            } else {
                up.write(c.retainedDuplicate(), up.voidPromise());
            }
        }
    }

    /** The kept trailers, duplicated for one write, or an empty buffer. */
    ByteBuf trailersForWrite() {
        return trailers == null ? io.netty.buffer.Unpooled.EMPTY_BUFFER : trailers.retainedDuplicate();
    }

    /** Releases every kept buffer; the body is no longer replayable. */
    void release() {
        intact = false;
        if (chunks != null) {
            for (ByteBuf c : chunks) {
                c.release();
            }
            chunks = null;
        }
        if (trailers != null) {
            trailers.release();
            trailers = null;
        }
        size = 0;
    }
}
