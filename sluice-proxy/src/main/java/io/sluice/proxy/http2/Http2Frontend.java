package io.sluice.proxy.http2;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http2.Http2ConnectionDecoder;
import io.netty.handler.codec.http2.Http2ConnectionEncoder;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.handler.timeout.IdleStateHandler;
import io.sluice.config.Http2Config;
import io.sluice.proxy.http.Http1ServerHandler;
import io.sluice.proxy.http.ListenerContext;
import java.util.concurrent.TimeUnit;

/**
 * Sets up an HTTP/2 client connection: Netty's frame codec with Sluice's limits, one child channel per stream
 * carrying an HTTP/1.1 exchange ({@link Http2ServerStreamCodec} in front of {@link Http1ServerHandler}), and the
 * connection guard.
 */
public final class Http2Frontend {

    /** Small CONTINUATION frames tolerated in a row before the connection is closed (Netty's default is 16). */
    private static final int MAX_SMALL_CONTINUATIONS = 16;
    /** Flushes merged into one socket write at most (Netty's default). */
    private static final int FLUSHES_BEFORE_WRITE = 256;
    /** Empty DATA frames without END_STREAM tolerated in a row. */
    private static final int MAX_EMPTY_DATA_FRAMES = 2;

    private Http2Frontend() {
    }

    /** The handlers of one HTTP/2 connection, in pipeline order. */
    record Handlers(FlushConsolidationHandler flushes, IdleStateHandler idle, Http2FrameCodec codec,
                    Http2MultiplexHandler streams, Http2ConnectionGuard guard) {
    }

    /** Adds the HTTP/2 handlers to a client connection's pipeline. */
    public static void configure(ChannelPipeline pipeline, ListenerContext listener) {
        Handlers h = handlers(listener);
        pipeline.addLast("h2-flushes", h.flushes());
        pipeline.addLast("h2-idle", h.idle());
        pipeline.addLast("h2-codec", h.codec());
        pipeline.addLast("h2-streams", h.streams());
        pipeline.addLast("h2-guard", h.guard());
    }

    /** Lets cleartext HTTP/1.1 connections of the listener upgrade to HTTP/2 ({@code Upgrade: h2c}). */
    public static void offerUpgrade(ListenerContext listener) {
        listener.offer(new H2cUpgrade(listener));
    }

    static Handlers handlers(ListenerContext listener) {
        Http2FrameCodec codec = codec(listener);
        Http2Config c = listener.config().http2();
        long idle = listener.config().timeouts().idle().toNanos();
        // Responses of many streams finish in the same event-loop turn (each upstream's read completes on its own):
        // one write to the socket for all of them, not one per stream.
        return new Handlers(new FlushConsolidationHandler(FLUSHES_BEFORE_WRITE, true), new IdleStateHandler(c.pingInterval().toNanos(), 0, idle, TimeUnit.NANOSECONDS), codec,
                new Http2MultiplexHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new Http2ServerStreamCodec(), new Http1ServerHandler(listener));
                    }
                }), new Http2ConnectionGuard(listener, codec.connection()));
    }

    /** Netty's server frame codec, with {@link StreamIdGuard} in front of its decoder. */
    private static final class GuardedCodecBuilder extends Http2FrameCodecBuilder {
        GuardedCodecBuilder() {
            server(true);
        }

        @Override
        protected Http2FrameCodec build(Http2ConnectionDecoder decoder, Http2ConnectionEncoder encoder,
                                        Http2Settings initialSettings) {
            return super.build(new StreamIdGuard(decoder), encoder, initialSettings);
        }
    }

    /** The frame codec with the listener's settings and protections. */
    static Http2FrameCodec codec(ListenerContext listener) {
        Http2Config c = listener.config().http2();
        Http2Settings settings = new Http2Settings()
                .maxConcurrentStreams(c.maxConcurrentStreams())
                .initialWindowSize(c.initialWindowSize())
                .maxFrameSize(c.maxFrameSize())
                .headerTableSize(c.headerTableSize())
                .maxHeaderListSize(c.maxHeaderListSize())
                .connectProtocolEnabled(true);
        return new GuardedCodecBuilder()
                .initialSettings(settings)
                .validateRequiredPseudoHeaders(true)
                .validateHeaders(true)
                .decoderEnforceMaxRstFramesPerWindow(c.maxResets(), (int) Math.max(1, c.resetWindow().toSeconds()))
                .decoderEnforceMaxSmallContinuationFrames(MAX_SMALL_CONTINUATIONS)
                .decoderEnforceMaxConsecutiveEmptyDataFrames(MAX_EMPTY_DATA_FRAMES)
                .gracefulShutdownTimeoutMillis(listener.runtime().config().drainTimeout().toMillis())
                .build();
    }
}
