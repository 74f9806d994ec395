package io.sluice.proxy.health;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One gRPC health check (the {@code grpc.health.v1.Health/Check} protocol of gRPC's health-checking spec, what
 * Envoy's and Kubernetes' gRPC probes use) of one endpoint: a fresh HTTP/2 connection (h2c, or h2 over TLS), one
 * unary call, and a verdict.
 *
 * <p>The endpoint passes if the call ends with {@code grpc-status: 0} and the response says {@code SERVING}; an
 * answer of {@code NOT_SERVING} or {@code SERVICE_UNKNOWN}, any other gRPC status, a reset or a refused connection
 * fails it; no verdict within the timeout is a timeout. The two protobuf messages are tiny and encoded by hand
 * (request: field 1, the service name; response: field 1, the status enum), so Sluice needs no protobuf runtime.
 * Each probe reports exactly once, on the event loop it runs on, and closes its connection.
 *
 * <p>It plugs into the active health checks ({@code health_check: {type: grpc, grpc_service: ...}}): the prober
 * calls {@link #probe} where it would connect for a {@code tcp} check and feeds {@link Result#outcome()} to the
 * endpoint's {@link io.sluice.health.HealthChecker}.
 */
public final class GrpcHealthProbe {

    /** How a probe ended. */
    public enum Outcome {
        /** SERVING. */
        PASS,
        /** Not serving, another status, a reset, a refused connection. */
        FAIL,
        /** No verdict within the timeout. */
        TIMEOUT
    }

    /** A probe's outcome, with a short description for logs ({@code NOT_SERVING}, {@code grpc-status 12}). */
    public record Result(Outcome outcome, String detail) {
    }

    private static final String PATH = "/grpc.health.v1.Health/Check";
    private static final int SERVING = 1;

    private GrpcHealthProbe() {
    }

    /**
     * Probes an endpoint.
     *
     * @param loop         where the probe runs and reports
     * @param channelClass the socket class of the transport in use
     * @param address      the endpoint
     * @param authority    the {@code :authority} to send (the endpoint's host:port, or a configured host)
     * @param service      the service asked about; empty for the server as a whole
     * @param tls          TLS to the endpoint (a context offering h2 by ALPN), if the pool re-encrypts
     * @param timeout      the whole probe's time limit, connect included
     */
    public static Future<Result> probe(EventLoop loop, Class<? extends SocketChannel> channelClass,
                                       InetSocketAddress address, String authority, String service,
                                       Optional<SslContext> tls, Duration timeout) {
        Promise<Result> result = loop.newPromise();
        ChannelFuture connect = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, timeout.toMillis()))
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        tls.ifPresent(t -> ch.pipeline().addLast(t.newHandler(ch.alloc(), address.getHostString(),
                                address.getPort())));
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                }).connect(address);
        Channel channel = connect.channel();
        ScheduledFuture<?> timer = loop.schedule(() -> {
            result.trySuccess(new Result(Outcome.TIMEOUT, "no answer within " + timeout.toMillis() + " ms"));
        }, timeout.toNanos(), TimeUnit.NANOSECONDS);
        result.addListener(done -> {
            timer.cancel(false);
            channel.close();
        });
        connect.addListener(f -> {
            if (!f.isSuccess()) {
                result.trySuccess(new Result(Outcome.FAIL, "connect failed: " + f.cause().getMessage()));
                return;
            }
            new Http2StreamChannelBootstrap(channel).handler(new Call(result)).open().addListener(opened -> {
                if (!opened.isSuccess()) {
                    result.trySuccess(new Result(Outcome.FAIL, "cannot open a stream: "
                            + opened.cause().getMessage()));
                    return;
                }
                Http2StreamChannel stream = (Http2StreamChannel) opened.getNow();
                Http2Headers h = new DefaultHttp2Headers().method("POST").scheme(tls.isPresent() ? "https" : "http")
                        .path(PATH).authority(authority);
                h.set("content-type", "application/grpc").set("te", "trailers")
                        .set("grpc-timeout", Math.max(1, timeout.toMillis()) + "m");
                stream.write(new DefaultHttp2HeadersFrame(h, false));
                stream.writeAndFlush(new DefaultHttp2DataFrame(request(service), true));
            });
        });
        return result;
    }

    /** The length-prefixed HealthCheckRequest message. */
    static ByteBuf request(String service) {
        byte[] name = service.getBytes(StandardCharsets.UTF_8);
        ByteBuf message = Unpooled.buffer(5 + 2 + name.length + 5);
        message.writeByte(0).writeInt(0);
        if (name.length > 0) {
            message.writeByte(0x0A);
            writeVarint(message, name.length);
            message.writeBytes(name);
        }
        message.setInt(1, message.readableBytes() - 5);
        return message;
    }

    /** The serving status in a length-prefixed HealthCheckResponse message, or -1 if it cannot be read. */
    static int servingStatus(ByteBuf framed) {
        if (framed.readableBytes() < 5 || framed.getByte(framed.readerIndex()) != 0) {
            return -1;
        }
        int length = framed.getInt(framed.readerIndex() + 1);
        if (framed.readableBytes() < 5 + length) {
            return -1;
        }
        ByteBuf m = framed.slice(framed.readerIndex() + 5, length);
        int status = 0;
        while (m.isReadable()) {
            long tag = readVarint(m);
            int field = (int) (tag >>> 3);
            int wire = (int) (tag & 7);
            if (tag < 0) {
                return -1;
            }
            if (wire == 0) {
                long v = readVarint(m);
                if (field == 1) {
                    status = (int) v;
                }
            } else if (wire == 2) {
                long n = readVarint(m);
                if (n < 0 || n > m.readableBytes()) {
                    return -1;
                }
                m.skipBytes((int) n);
            } else if (wire == 5 && m.readableBytes() >= 4) {
                m.skipBytes(4);
            } else if (wire == 1 && m.readableBytes() >= 8) {
                m.skipBytes(8);
            } else {
                return -1;
            }
        }
        return status;
    }

    private static void writeVarint(ByteBuf out, int value) {
        while ((value & ~0x7F) != 0) {
            out.writeByte(value & 0x7F | 0x80);
            value >>>= 7;
        }
        out.writeByte(value);
    }

    private static long readVarint(ByteBuf in) {
        long value = 0;
        for (int shift = 0; shift < 64 && in.isReadable(); shift += 7) {
            byte b = in.readByte();
            value |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        return -1;
    }

    /** Reads the call's response on its stream. */
    private static final class Call extends ChannelInboundHandlerAdapter {
        private final Promise<Result> result;
        private final ByteBuf body = Unpooled.buffer();
        private boolean headersSeen;

        Call(Promise<Result> result) {
            this.result = result;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame f) {
                    Http2Headers h = f.headers();
                    if (!headersSeen && h.status() != null) {
                        headersSeen = true;
                        if (!h.status().toString().equals("200")) {
                            result.trySuccess(new Result(Outcome.FAIL, "HTTP status " + h.status()));
                            return;
                        }
                    }
                    CharSequence grpcStatus = h.get("grpc-status");
                    if (grpcStatus != null) {
                        verdict(grpcStatus.toString());
                    } else if (f.isEndStream()) {
                        result.trySuccess(new Result(Outcome.FAIL, "no grpc-status"));
                    }
                } else if (msg instanceof Http2DataFrame d) {
                    body.writeBytes(d.content());
                } else if (msg instanceof Http2ResetFrame r) {
                    result.trySuccess(new Result(Outcome.FAIL, "stream reset (" + r.errorCode() + ")"));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private void verdict(String grpcStatus) {
            if (!grpcStatus.equals("0")) {
                result.trySuccess(new Result(Outcome.FAIL, "grpc-status " + grpcStatus));
                return;
            }
            int status = servingStatus(body);
            result.trySuccess(status == SERVING ? new Result(Outcome.PASS, "SERVING")
                    : new Result(Outcome.FAIL, switch (status) {
                        case 2 -> "NOT_SERVING";
                        case 3 -> "SERVICE_UNKNOWN";
                        case -1 -> "unreadable response";
                        default -> "status " + status;
                    }));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            body.release();
            result.trySuccess(new Result(Outcome.FAIL, "stream closed without a verdict"));
        }
    }
}
