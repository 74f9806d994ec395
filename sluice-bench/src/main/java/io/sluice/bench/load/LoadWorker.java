package io.sluice.bench.load;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.proxy.server.Transport;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One event loop's share of the load: {@code users} keep-alive connections, each with at most one streaming
 * request in flight, all driven from that one thread (so nothing here is shared or locked).
 *
 * <p>A paired run has two arms (say, servers direct and the same servers through a proxy), each with its own
 * connections and histograms, driven together so that both see the same background noise on a shared machine.
 *
 * <p>Closed loop ({@code rate} 0): a connection sends its next request as soon as the previous response ends.
 * Open loop: requests are due every {@code 1/rate} seconds; a due request goes out on an idle connection, or waits
 * for one, and its TTFT is counted from when it was due, so a slow system is not hidden by a client that waited
 * (no coordinated omission). TTFT is the time from the request's start to the first response chunk carrying an
 * SSE {@code data:} line; requests that start within the measured window are recorded, warm-up ones are not.
 */
final class LoadWorker {

    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);
    private static final long TICK_NANOS = 200_000;

    private final EventLoop loop;
    private final Transport transport;
    private final PromptCorpus corpus;
    private final LoadOptions options;
    private final double rate;  // per arm
    private final long requestOffset;
    final Arm[] arms;
    final CompletableFuture<Void> done = new CompletableFuture<>();
    long stoppedAt;
    private long sent;
    private long measuredStarts;
    private long warmEnd;
    private long end;
    private long nextDue;
    private long dueInterval;
    private int nextArm;
    private boolean stopping;

    /** One set of connections to one set of targets, with its own histograms (paired runs have two). */
    static final class Arm {
        final List<URI> targets;
        final User[] users;
        final ArrayDeque<User> idle = new ArrayDeque<>();
        final ArrayDeque<Long> backlog = new ArrayDeque<>();
        final Histogram ttft = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        final Histogram total = new Histogram(TimeUnit.MINUTES.toMicros(10), 3);
        long completed;
        long errors;
        long unfinished;
        long backlogged;
        long bytesSent;

        Arm(List<URI> targets, int users) {
            this.targets = targets;
            this.users = new User[users];
        }
    }

    LoadWorker(EventLoop loop, Transport transport, List<List<URI>> armTargets, PromptCorpus corpus,
               LoadOptions options, int users, double rate, long requestOffset) {
        this.loop = loop;
        this.transport = transport;
        this.corpus = corpus;
        this.options = options;
        this.rate = rate;
        this.requestOffset = requestOffset;
        this.arms = new Arm[armTargets.size()];
        for (int i = 0; i < arms.length; i++) {
            arms[i] = new Arm(armTargets.get(i), users);
        }
    }

    /** Opens every connection (user i of an arm goes to its target i mod targets); completes when all are up. */
    CompletableFuture<Void> connect(int firstUser) {
        CompletableFuture<Void> all = new CompletableFuture<>();
        int[] left = {arms.length * arms[0].users.length};
        for (Arm arm : arms) {
            for (int i = 0; i < arm.users.length; i++) {
                User u = new User(arm, arm.targets.get((firstUser + i) % arm.targets.size()));
                arm.users[i] = u;
                u.open().addListener(f -> loop.execute(() -> {
                    if (!f.isSuccess()) {
                        all.completeExceptionally(new IllegalStateException("cannot connect to " + u.target + ": "
                                + f.cause().getMessage(), f.cause()));
                    } else if (--left[0] == 0) {
                        all.complete(null);
                    }
                }));
            }
        }
        return all;
    }

    /** Starts the load; {@link #done} completes once the window is over and every response has ended. */
    void start(long startNanos, long warmEndNanos, long endNanos) {
        loop.execute(() -> {
            warmEnd = warmEndNanos;
            end = endNanos;
            for (Arm arm : arms) {
                for (User u : arm.users) {
                    arm.idle.add(u);
                }
            }
            if (rate > 0) {
                dueInterval = Math.max(1, Math.round(1e9 / (rate * arms.length)));
                nextDue = startNanos;
                tick();
            } else {
                // Paired arms start interleaved, so neither gets the first turn at every server.
                boolean more = true;
                while (more) {
                    more = false;
                    for (Arm arm : arms) {
                        if (!arm.idle.isEmpty()) {
                            send(arm.idle.poll(), System.nanoTime());
                            more = true;
                        }
                    }
                }
            }
            loop.schedule(this::stop, Math.max(0, endNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        });
    }

    private void tick() {
        if (stopping) {
            return;
        }
        long now = System.nanoTime();
        while (nextDue <= now) {
            if (!windowOpen(now)) {
                stop();
                return;
            }
            if (nextDue >= warmEnd) {
                measuredStarts++;
            }
            // Paired arms take turns: each gets every other due request.
            Arm arm = arms[nextArm];
            nextArm = (nextArm + 1) % arms.length;
            if (arm.idle.isEmpty()) {
                arm.backlog.add(nextDue);
                arm.backlogged++;
            } else {
                send(arm.idle.poll(), nextDue);
            }
            nextDue += dueInterval;
        }
        loop.schedule(this::tick, Math.max(TICK_NANOS, nextDue - now), TimeUnit.NANOSECONDS);
    }

    private boolean windowOpen(long now) {
        return !stopping && now < end && (options.maxRequests() <= 0 || measuredStarts < options.maxRequests());
    }

    private void send(User u, long startNanos) {
        Arm arm = u.arm;
        if (!u.channel.isActive()) {
            // The connection is gone and could not be reopened: the request fails without being sent.
            if (startNanos >= warmEnd && startNanos < end) {
                arm.errors++;
            }
            arm.idle.add(u);
            return;
        }
        if (rate == 0 && startNanos >= warmEnd) {
            measuredStarts++;
        }
        long n = requestOffset + sent++;
        ByteBuf body = corpus.body(n);
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, u.path, body);
        req.headers().set(HttpHeaderNames.HOST, u.hostHeader)
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .set(HttpHeaderNames.ACCEPT, "text/event-stream")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        arm.bytesSent += body.readableBytes();
        u.begin(startNanos);
        u.channel.writeAndFlush(req, u.channel.voidPromise());
    }

    private void finished(User u, boolean ok) {
        long now = System.nanoTime();
        Arm arm = u.arm;
        if (u.start >= warmEnd && u.start < end) {
            if (ok && u.firstData > 0) {
                arm.completed++;
                arm.ttft.recordValue(Math.max(0, (u.firstData - u.start) / 1000));
                arm.total.recordValue(Math.max(0, (now - u.start) / 1000));
            } else {
                arm.errors++;
            }
        }
        u.busy = false;
        if (!u.channel.isActive() || !u.keepAlive) {
            u.channel.close();
            if (stopping) {
                maybeDone();
            } else {
                u.open().addListener(f -> loop.execute(() -> next(u)));
            }
            return;
        }
        next(u);
    }

    private void next(User u) {
        long now = System.nanoTime();
        if (rate > 0) {
            // Requests that came due while every connection was busy go first, even after the window closed.
            Long due = u.arm.backlog.poll();
            if (due != null) {
                send(u, due);
                return;
            }
            u.arm.idle.add(u);
            if (stopping) {
                maybeDone();
            }
        } else if (stopping) {
            maybeDone();
        } else if (windowOpen(now)) {
            send(u, now);
        } else {
            u.arm.idle.add(u);
            stop();
        }
    }

    private void stop() {
        if (stopping) {
            return;
        }
        stopping = true;
        stoppedAt = Math.min(System.nanoTime(), end);
        loop.schedule(this::abandon, options.drain().toNanos(), TimeUnit.NANOSECONDS);
        maybeDone();
    }

    private void maybeDone() {
        for (Arm arm : arms) {
            if (!arm.backlog.isEmpty()) {
                return;
            }
            for (User u : arm.users) {
                if (u.busy) {
                    return;
                }
            }
        }
        closeAll();
    }

    private void abandon() {
        for (Arm arm : arms) {
            for (User u : arm.users) {
                if (u.busy) {
                    arm.unfinished++;
                    u.busy = false;
                }
            }
            for (long due : arm.backlog) {
                if (due >= warmEnd) {
                    arm.unfinished++;
                }
            }
            arm.backlog.clear();
        }
        closeAll();
    }

    private void closeAll() {
        if (done.isDone()) {
            return;
        }
        for (Arm arm : arms) {
            for (User u : arm.users) {
                if (u.channel != null) {
                    u.channel.close();
                }
            }
        }
        done.complete(null);
    }

    /** One connection and the request on it. */
    final class User extends SimpleChannelInboundHandler<HttpObject> {
        final Arm arm;
        final URI target;
        final String path;
        final String hostHeader;
        Channel channel;
        boolean busy;
        boolean ok;
        boolean keepAlive;
        long start;
        long firstData;

        User(Arm arm, URI target) {
            this.arm = arm;
            this.target = target;
            this.path = target.getRawPath() == null || target.getRawPath().isEmpty() ? "/" : target.getRawPath();
            this.hostHeader = target.getHost() + ":" + target.getPort();
        }

        ChannelFuture open() {
            User self = this;
            ChannelFuture f = new Bootstrap().group(loop).channel(transport.socketChannel())
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(), self);
                        }
                    }).connect(target.getHost(), target.getPort());
            channel = f.channel();
            return f;
        }

        @Override
        public boolean isSharable() {
            return true;
        }

        void begin(long startNanos) {
            busy = true;
            ok = false;
            keepAlive = true;
            start = startNanos;
            firstData = 0;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (!busy) {
                return;
            }
            if (msg instanceof HttpResponse res) {
                ok = res.status().code() == 200;
                keepAlive = HttpUtil.isKeepAlive(res);
            }
            if (msg instanceof HttpContent c) {
                if (ok && firstData == 0 && contains(c.content())) {
                    firstData = System.nanoTime();
                }
                if (msg instanceof LastHttpContent) {
                    finished(this, ok);
                }
            }
        }

        private boolean contains(ByteBuf buf) {
            int from = buf.readerIndex();
            int to = buf.writerIndex() - DATA.length;
            for (int i = from; i <= to; i++) {
                if (buf.getByte(i) == DATA[0] && buf.getByte(i + 1) == DATA[1] && buf.getByte(i + 2) == DATA[2]
                        && buf.getByte(i + 3) == DATA[3] && buf.getByte(i + 4) == DATA[4]) {
                    return true;
                }
            }
            return false;
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (busy && ctx.channel() == channel) {
                finished(this, false);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
