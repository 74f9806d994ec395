package io.sluice.proxy.upstream;

import io.netty.buffer.ByteBuf;
import io.sluice.proxy.http1.Http1Head;

/** What an upstream connection reports to the exchange that leased it. */
public interface UpstreamListener {

    /** A response head (interim ones included). The listener owns it. */
    void responseHead(Http1Head head);

    /** A piece of the response body. The listener owns it. */
    void responseBody(ByteBuf content);

    /** The end of the response, with its trailers. The listener owns them. */
    void responseEnd(ByteBuf trailers);

    /** The upstream broke the protocol. */
    void upstreamProtocolError(String reason);

    /** The upstream connection closed before the response ended. */
    void upstreamClosed();

    /** The upstream delivered a batch of reads: a good moment to flush toward the client. */
    void upstreamReadComplete();

    /** The upstream's writability changed (request body backpressure). */
    void upstreamWritabilityChanged(boolean writable);
}
