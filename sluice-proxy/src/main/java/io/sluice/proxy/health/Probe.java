package io.sluice.proxy.health;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One health probe of one endpoint: a TCP connect, or an HTTP {@code GET} whose status line is read and judged.
 *
 * <p>Each probe opens its own connection and closes it when the verdict is in ({@code Connection: close}, like
 * HAProxy's {@code option httpchk}), so a probe never shares a connection with traffic and a half-dead keep-alive
 * connection can never make a probe pass. Only the status line is read (at most {@value #MAX_STATUS_LINE} bytes);
 * the body is ignored. The whole probe, connect included, must finish within the check's {@code timeout}; the
 * result is reported exactly once, on the event loop the probe runs on.
 */
final class Probe extends ChannelInboundHandlerAdapter {

    /** How a probe ended. */
    enum Outcome {
        /** Connected (tcp), or answered an expected status (http). */
        PASS,
        /** Refused, reset, closed early, an unexpected status or an invalid answer. */
        FAIL,
        /** No verdict within the timeout. */
        TIMEOUT
    }

    /** A probe's outcome, with a short description for logs ({@code status 503}, {@code connection refused}). */
    record Result(Outcome outcome, String detail) {
    }

    /** What an HTTP probe sends and accepts. */
    interface HttpCheck {
        /** The request bytes, a complete {@code GET} with {@code Connection: close}. */
        byte[] request();

        /** True if the status passes. */
        boolean expected(int status);
    }

    private static final int MAX_STATUS_LINE = 1024;

    private final HttpCheck http;
    private final Consumer<Result> done;
    private ScheduledFuture<?> timer;
    private Channel channel;
    private ByteBuf statusLine;
    private boolean finished;

    private Probe(HttpCheck http, Consumer<Result> done) {
        this.http = http;
        this.done = done;
    }

    /**
     * Starts a probe.
     *
     * @param loop          the event loop it runs on (the result is reported there)
     * @param channelClass  the transport's socket class
     * @param address       the endpoint
     * @param timeoutMillis the longest the probe may take
     * @param http          what to send and accept, or null for a TCP connect probe
     * @param done          receives the result, once
     * @return the probe, to {@linkplain #cancel() cancel} it
     */
    static Probe start(EventLoop loop, Class<? extends SocketChannel> channelClass, InetSocketAddress address,
                       long timeoutMillis, HttpCheck http, Consumer<Result> done) {
        Probe probe = new Probe(http, done);
        probe.timer = loop.schedule(() -> probe.finish(Outcome.TIMEOUT, "no answer within " + timeoutMillis + " ms"),
                timeoutMillis, TimeUnit.MILLISECONDS);
        ChannelFuture f = new Bootstrap().group(loop).channel(channelClass)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMillis + 1))
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(probe)
                .connect(address);
        f.addListener(c -> {
            if (!c.isSuccess()) {
                Throwable cause = c.cause();
                if (cause instanceof ConnectTimeoutException) {
                    probe.finish(Outcome.TIMEOUT, "connect timeout");
                } else {
                    probe.finish(Outcome.FAIL, cause instanceof ConnectException ? "connection refused"
                            : "connect failed: " + cause.getMessage());
                }
            } else if (http == null) {
                probe.finish(Outcome.PASS, "connected");
            } else {
                f.channel().writeAndFlush(Unpooled.wrappedBuffer(http.request()));
            }
        });
        return probe;
    }

    /** Stops the probe without reporting (its endpoint left the pool, or Sluice stops). */
    void cancel() {
        finished = true;
        cleanUp();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        // Known before the connect starts, so a verdict reached at once still closes the channel.
        channel = ctx.channel();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ByteBuf in = (ByteBuf) msg;
        try {
            if (finished || http == null) {
                return;
            }
            if (statusLine == null) {
                statusLine = ctx.alloc().buffer(128);
            }
            int room = MAX_STATUS_LINE - statusLine.readableBytes();
            statusLine.writeBytes(in, in.readerIndex(), Math.min(room, in.readableBytes()));
            int lf = statusLine.indexOf(statusLine.readerIndex(), statusLine.writerIndex(), (byte) '\n');
            if (lf >= 0) {
                judge(statusLine.toString(statusLine.readerIndex(), lf - statusLine.readerIndex(),
                        StandardCharsets.ISO_8859_1).strip());
            } else if (statusLine.readableBytes() >= MAX_STATUS_LINE) {
                finish(Outcome.FAIL, "no status line in the first " + MAX_STATUS_LINE + " bytes");
            }
        } finally {
            in.release();
        }
    }

    private void judge(String line) {
        // "HTTP/1.1 200 OK": the status is the three digits after the first space.
        int space = line.indexOf(' ');
        if (!line.startsWith("HTTP/") || space < 0 || line.length() < space + 4) {
            finish(Outcome.FAIL, "not an HTTP response");
            return;
        }
        int status;
        try {
            status = Integer.parseInt(line.substring(space + 1, space + 4));
        } catch (NumberFormatException e) {
            finish(Outcome.FAIL, "not an HTTP response");
            return;
        }
        finish(http.expected(status) ? Outcome.PASS : Outcome.FAIL, "status " + status);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish(Outcome.FAIL, "connection closed before the status line");
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        finish(Outcome.FAIL, "connection failed: " + cause.getMessage());
    }

    private void finish(Outcome outcome, String detail) {
        if (finished) {
            return;
        }
        finished = true;
        cleanUp();
        done.accept(new Result(outcome, detail));
    }

    private void cleanUp() {
        if (timer != null) {
            timer.cancel(false);
        }
        if (statusLine != null) {
            statusLine.release();
            statusLine = null;
        }
        if (channel != null) {
            channel.close();
        }
    }
}
