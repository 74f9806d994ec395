package io.sluice.proxy.http2;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.DecoratingHttp2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2Connection;
import io.netty.handler.codec.http2.Http2ConnectionAdapter;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Exception;
import io.netty.handler.codec.http2.Http2Stream;
import java.util.List;

/**
 * Rejects a client's HEADERS on a stream identifier it can no longer use, as a connection error (RFC 9113 §5.1.1
 * and §5.1): a stream that completed normally is {@code STREAM_CLOSED}, any other identifier at or below the last
 * stream the client opened is {@code PROTOCOL_ERROR}.
 *
 * <p>Netty's decoder treats both as a stream error (or ignores them), and since a stream error on a multiplexed
 * connection is answered only after the response to an earlier stream may already have gone out, a conformant peer
 * sees the wrong thing. This decorator looks at the frame headers in each batch of input before the decoder does,
 * keeping track of a frame whose header the frame reader has taken but whose payload is still incomplete. Streams
 * closed after Sluice reset them are exempt: frames racing a reset must be ignored (§5.1).
 */
final class StreamIdGuard extends DecoratingHttp2ConnectionDecoder {

    private static final int FRAME_HEADER = 9;
    private static final byte HEADERS = 0x1;
    /** Recently completed stream identifiers remembered, to tell STREAM_CLOSED from PROTOCOL_ERROR. */
    private static final int REMEMBERED = 1024;

    private final Http2Connection connection;
    private final int[] completed = new int[REMEMBERED];
    private int completedCount;
    private int payloadToSkip;
    /** Streams opened by HEADERS earlier in the batch being checked (the decoder has not created them yet). */
    private int[] openedInBatch = new int[16];

    StreamIdGuard(Http2ConnectionDecoder delegate) {
        super(delegate);
        this.connection = delegate.connection();
        connection.addListener(new Http2ConnectionAdapter() {
            @Override
            public void onStreamClosed(Http2Stream stream) {
                if (!stream.isResetSent() && (stream.id() & 1) == 1) {
                    completed[completedCount++ % REMEMBERED] = stream.id();
                }
            }
        });
    }

    @Override
    public void decodeFrame(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Http2Exception {
        check(in);
        super.decodeFrame(ctx, in, out);
    }

    private void check(ByteBuf in) throws Http2Exception {
        int at = in.readerIndex();
        int end = in.writerIndex();
        if (payloadToSkip > 0) {
            if (end - at < payloadToSkip) {
                return;
            }
            at += payloadToSkip;
            payloadToSkip = 0;
        }
        int last = connection.remote().lastStreamCreated();
        int opened = 0;
        while (end - at >= FRAME_HEADER) {
            int length = in.getUnsignedMedium(at);
            byte type = in.getByte(at + 3);
            int streamId = in.getInt(at + 5) & Integer.MAX_VALUE;
            if (type == HEADERS && (streamId & 1) == 1 && connection.stream(streamId) == null
                    && !contains(openedInBatch, opened, streamId)) {
                if (streamId <= last) {
                    throw Http2Exception.connectionError(completed(streamId) ? Http2Error.STREAM_CLOSED
                            : Http2Error.PROTOCOL_ERROR, "HEADERS on stream %d, at or below the last stream %d",
                            streamId, last);
                }
                last = streamId;
                if (opened == openedInBatch.length) {
                    openedInBatch = java.util.Arrays.copyOf(openedInBatch, opened * 2);
                }
                openedInBatch[opened++] = streamId;
            }
            if (end - at - FRAME_HEADER < length) {
                // The reader takes this header now and waits for the payload.
                payloadToSkip = length;
                return;
            }
            at += FRAME_HEADER + length;
        }
    }

    private static boolean contains(int[] ids, int count, int id) {
        for (int i = count - 1; i >= 0; i--) {
            if (ids[i] == id) {
                return true;
            }
        }
        return false;
    }

    private boolean completed(int streamId) {
        int n = Math.min(completedCount, REMEMBERED);
        for (int i = 0; i < n; i++) {
            if (completed[i] == streamId) {
                return true;
            }
        }
        return false;
    }
}
