package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamListener;
import io.sluice.proxy.upstream.UpstreamPools;
import io.sluice.time.Clock;
import java.util.concurrent.TimeUnit;

/**
 * Reads and drops the rest of a response that will not be forwarded (a 503 that is being retried elsewhere), so that
 * its connection can be reused instead of closed.
 *
 * <p>Only a small response is worth waiting for: one with a known length of at most {@value #MAX_DISCARD} bytes,
 * to a request that was completely sent. Anything else, or a response that does not end within
 * {@value #DEADLINE_MILLIS} ms, closes the connection. Runs on the connection's event loop.
 */
final class ResponseDiscarder implements UpstreamListener {

    /** The largest response body read and dropped to keep a connection. */
    static final long MAX_DISCARD = 64 * 1024;
    private static final long DEADLINE_MILLIS = 1000;

    private final UpstreamConnection connection;
    private final Clock clock;
    private final ScheduledFuture<?> deadline;
    private boolean done;

    private ResponseDiscarder(UpstreamConnection connection, Clock clock) {
        this.connection = connection;
        this.clock = clock;
        this.deadline = connection.channel().eventLoop().schedule(() -> finish(false), DEADLINE_MILLIS,
                TimeUnit.MILLISECONDS);
    }

    /**
     * Takes over a connection whose response head just arrived, and releases the head.
     *
     * @param requestSent true if the whole request was written (else the connection cannot be reused)
     */
    static void takeOver(UpstreamConnection connection, Http1Head head, boolean requestSent, Clock clock) {
        long length = head.contentLength();
        boolean small = !head.chunked() && length >= 0 && length <= MAX_DISCARD;
        head.release();
        if (!requestSent || !small) {
            connection.markNotReusable();
            UpstreamPools.current().offer(connection, clock.nanoTime());
            return;
        }
        connection.handOver(new ResponseDiscarder(connection, clock));
    }

    private void finish(boolean complete) {
        if (done) {
            return;
        }
        done = true;
        deadline.cancel(false);
        if (!complete) {
            connection.markNotReusable();
        }
        UpstreamPools.current().offer(connection, clock.nanoTime());
    }

    @Override
    public void responseHead(Http1Head head) {
        // Only interim heads can arrive here; the final one was taken over.
        head.release();
    }

    @Override
    public void responseBody(ByteBuf content) {
        content.release();
    }

    @Override
    public void responseEnd(ByteBuf trailers) {
        trailers.release();
        finish(true);
    }

    @Override
    public void upstreamProtocolError(String reason) {
        finish(false);
    }

    @Override
    public void upstreamClosed() {
        finish(false);
    }

    @Override
    public void upstreamReadComplete() {
    }

    @Override
    public void upstreamWritabilityChanged(boolean writable) {
    }
}
