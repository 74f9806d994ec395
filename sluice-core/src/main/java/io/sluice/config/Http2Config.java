package io.sluice.config;

import java.time.Duration;

/**
 * HTTP/2 on an http listener: whether it is offered, and the limits that protect Sluice from abusive clients.
 *
 * <p>The defaults follow Envoy's and HAProxy's hardening: 100 concurrent streams, HPACK table and header list
 * bounded, and the two 2023-2024 floods stopped at the connection — rapid reset (CVE-2023-44487: streams opened
 * and reset at once, so the concurrency limit never bites) after {@code maxResets} resets in {@code resetWindow},
 * and CONTINUATION floods (header blocks that never end) by the header list limit and a cap on tiny frames.
 *
 * @param enabled              offer h2 (ALPN on TLS, prior knowledge and {@code Upgrade: h2c} on cleartext)
 * @param maxConcurrentStreams streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)
 * @param initialWindowSize    per-stream flow-control window advertised to clients, in bytes
 * @param maxFrameSize         largest frame payload accepted, in bytes
 * @param headerTableSize      HPACK dynamic table size, in bytes
 * @param maxHeaderListSize    largest decoded header list of one request, in bytes
 * @param maxResets            stream resets a client may send within {@code resetWindow} before the connection is
 *                             closed with GOAWAY ENHANCE_YOUR_CALM (rapid-reset protection)
 * @param resetWindow          the window of {@code maxResets}
 * @param pingInterval         send a PING after this long without a frame from the client (0: never)
 * @param pingTimeout          close the connection if the PING is not answered within this time
 */
public record Http2Config(boolean enabled, int maxConcurrentStreams, int initialWindowSize, int maxFrameSize,
                          int headerTableSize, int maxHeaderListSize, int maxResets, Duration resetWindow,
                          Duration pingInterval, Duration pingTimeout) {

    /** The defaults. */
    public static final Http2Config DEFAULT = new Http2Config(true, 100, 65_535, 16_384, 4096, 65_536, 200,
            Duration.ofSeconds(30), Duration.ZERO, Duration.ofSeconds(10));

    static Http2Config read(ConfigNode n) {
        return new Http2Config(
                n.bool("enabled", DEFAULT.enabled()),
                n.integer("max_concurrent_streams", DEFAULT.maxConcurrentStreams(), 1, 10_000),
                (int) n.bytes("initial_window_size", DEFAULT.initialWindowSize(), 65_535, Integer.MAX_VALUE),
                (int) n.bytes("max_frame_size", DEFAULT.maxFrameSize(), 16_384, 16_777_215),
                (int) n.bytes("header_table_size", DEFAULT.headerTableSize(), 0, 1 << 20),
                (int) n.bytes("max_header_list_size", DEFAULT.maxHeaderListSize(), 1024, 1 << 24),
                n.integer("max_resets", DEFAULT.maxResets(), 1, 1_000_000),
                n.duration("reset_window", DEFAULT.resetWindow(), Duration.ofSeconds(1), Duration.ofHours(1)),
                n.duration("ping_interval", DEFAULT.pingInterval(), Duration.ZERO, Duration.ofHours(1)),
                n.duration("ping_timeout", DEFAULT.pingTimeout(), Duration.ofMillis(1), Duration.ofMinutes(10)));
    }
}
