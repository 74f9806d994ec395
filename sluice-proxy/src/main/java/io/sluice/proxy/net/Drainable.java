package io.sluice.proxy.net;

/**
 * A client connection's handler that knows how to end it gracefully: HTTP/1.1 closes after the response in
 * progress, HTTP/2 sends GOAWAY and lets open streams finish, TCP keeps its tunnel until either side closes.
 */
public interface Drainable extends io.netty.channel.ChannelHandler {

    /** Starts closing the connection gracefully. Called on the connection's event loop. */
    void drain();
}
