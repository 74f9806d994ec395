package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.Future;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.balance.RetryAfter;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.proxy.grpc.GrpcStatus;
import io.sluice.proxy.http1.HeaderNames;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Writer;
import io.sluice.proxy.log.AccessRecord;
import io.sluice.proxy.route.Router;
import io.sluice.proxy.runtime.PoolAffinity;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamListener;
import io.sluice.proxy.upstream.UpstreamPools;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One proxied request and its response, from the client's request head to the last byte of the response.
 *
 * <p>The life of an exchange: route the request to a pool, pick an endpoint, lease a pooled connection to it or
 * open one on this event loop, send the rebuilt head, stream the body through as it arrives (with backpressure both
 * ways), and stream the response back, re-framing it for the client. A request whose connection attempt fails is
 * tried on another endpoint, since none of it was sent; nothing else is retried here. The exchange answers the
 * client itself when it cannot be forwarded: 404 (no route), 503 (no usable endpoint, connect failures), 502 (the
 * endpoint reset or broke the protocol before answering), 504 (no response head in time).
 */
final class Exchange implements UpstreamListener, Router.Request, PoolAffinity.Request {

    private final Http1ServerHandler client;
    private final ListenerContext listener;
    private final Http1Head request;
    private final long startNanos;
    private final long startMillis;
    private final PickContext pick = new PickContext();

    private String path = "";
    private String query = "";
    private String host = "";
    private String authority = "";
    private String originTarget;
    private boolean hostFromUri;
    private String requestId;
    private boolean idGenerated;

    private PoolRuntime pool;
    private Member member;
    /** The member whose active-request count this exchange holds (one per attempt), or null. */
    private Member counted;
    private UpstreamConnection upstream;
    private int attempts;
    private boolean connected;
    private final boolean bodyless;
    private boolean requestEnded;
    private boolean bodyStarted;
    private boolean upstreamNeedsFlush;
    private boolean clientNeedsFlush;
    private long lastActivityNanos;
    private long requestSentNanos = -1;
    private long attemptStartNanos;
    private long responseHeadNanos = -1;

    private boolean responseStarted;
    private ForwardedHeads.Framing framing;
    private boolean clientKeepAlive;
    private boolean finished;
    /** The client asked to switch protocols (WebSocket): a 101 turns the exchange into a two-way tunnel. */
    private final boolean upgradeRequested;
    private boolean tunnel;
    /** A gRPC call: Sluice's own errors are told as gRPC statuses. */
    private final boolean grpc;
    /** The deadline of a gRPC call's {@code grpc-timeout}, in clock nanos; Long.MAX_VALUE if none. */
    private long grpcDeadlineNanos = Long.MAX_VALUE;
    private int status;
    private String error = "";
    private long bytesIn;
    private long bytesOut;

    Exchange(Http1ServerHandler client, Http1Head request) {
        this.client = client;
        this.listener = client.listener();
        this.request = request;
        this.startNanos = client.now();
        this.lastActivityNanos = startNanos;
        this.startMillis = listener.clock().currentTimeMillis();
        this.clientKeepAlive = request.keepAlive();
        this.bodyless = !request.chunked() && request.contentLength() <= 0;
        this.requestEnded = bodyless;
        this.grpc = GrpcStatus.isGrpc(request.get("content-type").orElse(null));
        this.upgradeRequested = ForwardedHeads.upgrade(request).isPresent();
    }

    // ------------------------------------------------------------------ Router.Request

    @Override
    public String method() {
        return request.method();
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public Optional<String> header(String lowerName) {
        return request.get(lowerName);
    }

    // ------------------------------------------------------------------ PoolAffinity.Request

    @Override
    public String rawQuery() {
        return query;
    }

    @Override
    public long clientIpKey() {
        return client.clientIpKey();
    }

    // ------------------------------------------------------------------ start: route, pick, connect

    void start() {
        client.holdRequestBody();
        if (request.method().equals("CONNECT")) {
            respondError(405, "CONNECT is not supported", "method_not_allowed");
            return;
        }
        if (!parseTarget()) {
            respondError(400, "invalid request target", "bad_request");
            return;
        }
        int idField = request.indexOf(HeaderNames.X_REQUEST_ID);
        String id = idField >= 0 ? request.value(idField) : "";
        idGenerated = !RequestIds.acceptable(id);
        requestId = idGenerated ? RequestIds.generate() : id;

        if (grpc) {
            request.get("grpc-timeout").ifPresent(t -> GrpcStatus.timeoutNanos(t).ifPresent(n -> {
                grpcDeadlineNanos = n > Long.MAX_VALUE - startNanos ? Long.MAX_VALUE : startNanos + n;
                client.armTimer(grpcDeadlineNanos);
            }));
        }
        ProxyRuntime runtime = listener.runtime();
        Optional<PoolRuntime> routed = runtime.router(listener.name()).flatMap(r -> r.route(this));
        if (routed.isEmpty()) {
            respondError(404, "no route for " + host + path, "no_route");
            return;
        }
        pool = routed.get();
        pool.affinity().prepare(pick, this);
        pickAndConnect();
    }

    /** Splits the target into path and query; takes host and path from an absolute-form target. */
    private boolean parseTarget() {
        String target = request.target();
        int hostField = request.hostField();
        String hostHeader = hostField >= 0 ? request.value(hostField) : "";
        String rest = target;
        if (target.charAt(0) != '/' && target.charAt(0) != '*') {
            int schemeEnd = target.indexOf("://");
            int pathStart = target.indexOf('/', schemeEnd + 3);
            authority = pathStart < 0 ? target.substring(schemeEnd + 3) : target.substring(schemeEnd + 3, pathStart);
            if (authority.isEmpty() || authority.indexOf('@') >= 0) {
                return false;
            }
            rest = pathStart < 0 ? "/" : target.substring(pathStart);
            originTarget = rest;
            hostFromUri = true;
        } else {
            authority = hostHeader;
        }
        int q = rest.indexOf('?');
        path = q < 0 ? rest : rest.substring(0, q);
        query = q < 0 ? "" : rest.substring(q + 1);
        String h = authority;
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            h = close > 0 ? h.substring(0, close + 1) : h;
        } else {
            int colon = h.lastIndexOf(':');
            h = colon >= 0 ? h.substring(0, colon) : h;
        }
        host = h.toLowerCase(Locale.ROOT);
        return true;
    }

    private void pickAndConnect() {
        try {
            member = pool.pool().select(pick);
        } catch (NoEndpointException e) {
            respondError(503, e.reason().message() + " in pool " + pool.name(), "no_endpoint");
            return;
        }
        attempts++;
        attemptStartNanos = client.now();
        member.load().requestStarted();
        counted = member;
        Channel channel = client.ctx().channel();
        UpstreamConnection idle = UpstreamPools.current().poll(member, client.now(), pool.poolIdleNanos());
        if (idle != null) {
            connected(idle);
            return;
        }
        Future<UpstreamConnection> f = listener.connector().connect(channel.eventLoop(), pool, member);
        Member target = member;
        f.addListener(done -> {
            if (done.isSuccess()) {
                UpstreamConnection c = f.getNow();
                if (finished || target != member) {
                    UpstreamPools.current().offer(c, client.now());
                    return;
                }
                connected(c);
            } else if (!finished && target == member) {
                connectFailed(done.cause());
            }
        });
    }

    private void connected(UpstreamConnection c) {
        upstream = c;
        connected = true;
        c.lease(this, request.method().equals("HEAD"));
        ByteBuf head = ForwardedHeads.request(c.channel().alloc(), request, originTarget, authority, hostFromUri,
                client.clientIp(), listener.tls(), requestId, idGenerated);
        c.channel().write(head, c.channel().voidPromise());
        upstreamNeedsFlush = true;
        lastActivityNanos = client.now();
        if (requestEnded) {
            requestFullySent();
        } else {
            if (request.expectContinue()) {
                ByteBuf cont = client.ctx().alloc().buffer(32);
                Http1Writer.statusLine(cont, 100);
                Http1Writer.endHead(cont);
                client.ctx().writeAndFlush(cont, client.ctx().voidPromise());
            }
            client.releaseRequestBody();
            clientReadComplete();
        }
    }

    private void connectFailed(Throwable cause) {
        endAttempt();
        failed();
        boolean timeout = cause instanceof ConnectTimeoutException;
        String why = timeout ? "upstream connect timeout" : cause instanceof ConnectException
                ? "upstream connect refused" : "upstream connect failed: " + cause.getMessage();
        if (attempts < pool.maxAttempts() && !bodyStarted) {
            pick.exclude(member);
            listener.metrics().retry(pool.name());
            member = null;
            pickAndConnect();
            return;
        }
        respondError(503, why, timeout ? "connect_timeout" : "connect_failed");
    }

    // ------------------------------------------------------------------ request body

    void requestBody(ByteBuf content) {
        if (!connected) {
            content.release();
            return;
        }
        bodyStarted = true;
        int n = content.readableBytes();
        bytesIn += n;
        lastActivityNanos = client.now();
        Channel up = upstream.channel();
        if (request.chunked()) {
            up.write(Http1Writer.chunkHeader(up.alloc(), n), up.voidPromise());
            up.write(content, up.voidPromise());
            up.write(Http1Writer.crlf(), up.voidPromise());
        } else {
            up.write(content, up.voidPromise());
        }
        upstreamNeedsFlush = true;
        if (!up.isWritable()) {
            client.setReading(false);
        }
    }

    void requestEnd(ByteBuf trailers) {
        if (bodyless) {
            // Already complete when the head arrived.
            trailers.release();
            return;
        }
        requestEnded = true;
        if (!connected) {
            trailers.release();
            return;
        }
        Channel up = upstream.channel();
        if (request.chunked()) {
            if (trailers.isReadable()) {
                up.write(Http1Writer.lastChunk(up.alloc(), trailers), up.voidPromise());
            } else {
                up.write(Http1Writer.lastChunk(), up.voidPromise());
            }
        }
        trailers.release();
        requestFullySent();
    }

    private void requestFullySent() {
        upstreamNeedsFlush = false;
        upstream.channel().flush();
        requestSentNanos = client.now();
        lastActivityNanos = requestSentNanos;
        if (!responseStarted) {
            client.armTimer(requestSentNanos + pool.responseHeaderTimeoutNanos());
        }
    }

    void clientReadComplete() {
        if (upstreamNeedsFlush && upstream != null) {
            upstreamNeedsFlush = false;
            upstream.channel().flush();
        }
    }

    void clientWritabilityChanged(boolean writable) {
        if (upstream != null) {
            upstream.channel().config().setAutoRead(writable);
        }
    }

    @Override
    public void upstreamWritabilityChanged(boolean writable) {
        if (!requestEnded || tunnel) {
            client.setReading(writable);
        }
    }

    /** The client's request turned out malformed midway (a bad chunk): it cannot be completed. */
    void requestBroken(int status, String reason) {
        if (upstream != null) {
            upstream.markNotReusable();
        }
        client.closeAfterResponse();
        if (responseStarted) {
            error = reason;
            fail();
            client.abort();
        } else {
            respondError(status, reason, "bad_request");
        }
    }

    // ------------------------------------------------------------------ response

    @Override
    public void responseHead(Http1Head head) {
        int s = head.status();
        if (s / 100 == 1) {
            if (s != 100 && s != 101) {
                ByteBuf interim = ForwardedHeads.response(client.ctx().alloc(), head, ForwardedHeads.Framing.NONE,
                        true, request.minorVersion(), requestId, Optional.empty());
                client.ctx().write(interim, client.ctx().voidPromise());
                clientNeedsFlush = true;
            } else if (s == 101) {
                if (upgradeRequested && head.connectionUpgrade() && head.get("upgrade").isPresent()) {
                    startTunnel(head);
                    return;
                }
                head.release();
                upstream.markNotReusable();
                upstreamProtocolError("101 Switching Protocols without an Upgrade request");
                return;
            }
            head.release();
            return;
        }
        status = s;
        responseHeadNanos = client.now();
        if (s == 429 || s == 503) {
            // least-response-time leaves an endpoint alone for as long as it asks.
            Optional<String> retryAfter = head.get("retry-after");
            OptionalLong delay = retryAfter.isPresent()
                    ? RetryAfter.millis(retryAfter.get(), listener.clock().currentTimeMillis()) : OptionalLong.empty();
            if (delay.isPresent()) {
                member.load().penaliseUntil(responseHeadNanos + delay.getAsLong() * 1_000_000L);
            }
        }
        lastActivityNanos = responseHeadNanos;
        responseStarted = true;
        boolean bodiless = request.method().equals("HEAD") || s == 204 || s == 304;
        if (bodiless) {
            framing = ForwardedHeads.Framing.NONE;
        } else if (head.contentLength() >= 0 && !head.chunked()) {
            framing = ForwardedHeads.Framing.LENGTH;
        } else if (request.minorVersion() >= 1) {
            framing = ForwardedHeads.Framing.CHUNKED;
        } else {
            framing = ForwardedHeads.Framing.CLOSE;
            clientKeepAlive = false;
        }
        if (!requestEnded || listener.draining()) {
            clientKeepAlive = false;
        }
        ByteBuf out = ForwardedHeads.response(client.ctx().alloc(), head, framing, clientKeepAlive,
                request.minorVersion(), requestId, pool.affinity().setCookie(pick, member, listener.tls()));
        head.release();
        client.ctx().write(out, client.ctx().voidPromise());
        clientNeedsFlush = true;
    }

    /**
     * The endpoint accepted the protocol switch (WebSocket): forward its 101 and from now on copy bytes both ways
     * untouched, until either side closes.
     */
    private void startTunnel(Http1Head head) {
        status = 101;
        responseHeadNanos = client.now();
        lastActivityNanos = responseHeadNanos;
        responseStarted = true;
        tunnel = true;
        framing = ForwardedHeads.Framing.CLOSE;
        clientKeepAlive = false;
        upstream.markNotReusable();
        upstream.startTunnel();
        ByteBuf out = ForwardedHeads.switchingProtocols(client.ctx().alloc(), head, requestId);
        head.release();
        client.ctx().writeAndFlush(out, client.ctx().voidPromise());
        client.startTunnel();
    }

    @Override
    public void responseBody(ByteBuf content) {
        if (finished || !responseStarted) {
            content.release();
            return;
        }
        int n = content.readableBytes();
        bytesOut += n;
        lastActivityNanos = client.now();
        ChannelHandlerContext c = client.ctx();
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            if (n == 0) {
                content.release();
                return;
            }
            c.write(Http1Writer.chunkHeader(c.alloc(), n), c.voidPromise());
            c.write(content, c.voidPromise());
            c.write(Http1Writer.crlf(), c.voidPromise());
        } else {
            c.write(content, c.voidPromise());
        }
        clientNeedsFlush = true;
        if (!c.channel().isWritable()) {
            upstream.channel().config().setAutoRead(false);
        }
    }

    @Override
    public void responseEnd(ByteBuf trailers) {
        if (finished) {
            trailers.release();
            return;
        }
        ChannelHandlerContext c = client.ctx();
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            c.write(trailers.isReadable() ? Http1Writer.lastChunk(c.alloc(), trailers) : Http1Writer.lastChunk(),
                    c.voidPromise());
        }
        trailers.release();
        c.flush();
        clientNeedsFlush = false;
        succeed();
    }

    @Override
    public void upstreamReadComplete() {
        if (clientNeedsFlush) {
            clientNeedsFlush = false;
            client.ctx().flush();
        }
    }

    @Override
    public void upstreamProtocolError(String reason) {
        if (finished) {
            return;
        }
        upstream.markNotReusable();
        failed();
        if (responseStarted) {
            error = "upstream broke the response: " + reason;
            fail();
            client.abort();
        } else {
            respondError(502, "upstream sent an invalid response: " + reason, "upstream_protocol_error");
        }
    }

    @Override
    public void upstreamClosed() {
        if (finished) {
            return;
        }
        if (responseStarted) {
            if (framing == ForwardedHeads.Framing.CLOSE) {
                // A close-delimited body ended normally.
                client.ctx().flush();
                succeed();
                return;
            }
            error = "upstream closed during the response";
            failed();
            fail();
            client.abort();
            return;
        }
        failed();
        respondError(502, "upstream reset before response", "upstream_reset");
    }

    /** Checks this exchange's deadlines; returns the next one. */
    long checkDeadlines(long now) {
        if (!finished && now >= grpcDeadlineNanos) {
            // The caller's deadline passed: it has given up, so Sluice does too (gRPC's deadline propagation).
            if (upstream != null) {
                upstream.markNotReusable();
            }
            if (responseStarted) {
                endGrpcResponse(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded in Sluice");
            } else {
                respondError(504, "deadline exceeded (grpc-timeout)", "grpc_deadline");
            }
            return Long.MAX_VALUE;
        }
        long next = checkTimeouts(now);
        return finished ? Long.MAX_VALUE : Math.min(next, grpcDeadlineNanos);
    }

    /** Ends a started gRPC response with a status in its trailers (HTTP/2 clients see a proper call end). */
    private void endGrpcResponse(int code, String message) {
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            ByteBuf trailers = client.ctx().alloc().buffer(64);
            Http1Writer.field(trailers, "grpc-status", Integer.toString(code));
            Http1Writer.field(trailers, "grpc-message", message);
            client.ctx().write(Http1Writer.lastChunk(client.ctx().alloc(), trailers), client.ctx().voidPromise());
            trailers.release();
            client.ctx().flush();
            error = message;
            clientKeepAlive = false;
            fail();
        } else {
            error = message;
            fail();
            client.abort();
        }
    }

    private long checkTimeouts(long now) {
        if (finished) {
            return Long.MAX_VALUE;
        }
        if (!responseStarted && requestSentNanos >= 0) {
            long headDeadline = requestSentNanos + pool.responseHeaderTimeoutNanos();
            if (now >= headDeadline) {
                upstream.markNotReusable();
                failed();
                respondError(504, "upstream response timeout", "response_timeout");
                return Long.MAX_VALUE;
            }
            return Math.min(headDeadline, lastActivityNanos + idleTimeout());
        }
        long idleDeadline = lastActivityNanos + idleTimeout();
        if (now >= idleDeadline) {
            if (upstream != null) {
                upstream.markNotReusable();
            }
            if (responseStarted) {
                error = "idle timeout during the response";
                fail();
                client.abort();
            } else {
                respondError(connected ? 504 : 408, connected ? "upstream idle timeout" : "request body timeout",
                        "idle_timeout");
            }
            return Long.MAX_VALUE;
        }
        return idleDeadline;
    }

    private long idleTimeout() {
        return pool != null ? pool.idleTimeoutNanos() : listener.config().timeouts().idle().toNanos();
    }

    /** The client went away. */
    void clientClosed() {
        if (finished) {
            return;
        }
        if (upstream != null) {
            upstream.markNotReusable();
        }
        error = "client closed the connection";
        if (status == 0) {
            status = 499;
        }
        fail();
    }

    // ------------------------------------------------------------------ ending

    /** Answers the client with an error generated by Sluice, then ends the exchange. */
    private void respondError(int code, String reason, String metricReason) {
        if (finished) {
            return;
        }
        if (responseStarted) {
            error = reason;
            fail();
            client.abort();
            return;
        }
        status = code;
        error = reason;
        listener.metrics().proxyError(listener.name(), metricReason);
        boolean keepAlive = clientKeepAlive && requestEnded && !listener.draining();
        clientKeepAlive = keepAlive;
        if (grpc) {
            ByteBuf out = client.ctx().alloc().buffer(256);
            GrpcStatus.writeHttp1(out, GrpcStatus.forProxyError(code, metricReason), reason,
                    requestId == null ? RequestIds.generate() : requestId, keepAlive);
            client.ctx().write(out, client.ctx().voidPromise());
        } else {
            writeError(client, code, reason, keepAlive, requestId == null ? RequestIds.generate() : requestId,
                    code == 503 ? "1" : null);
        }
        client.ctx().flush();
        if (upstream != null && !upstream.channel().isActive()) {
            upstream = null;
        } else if (upstream != null) {
            upstream.markNotReusable();
        }
        endExchange(false);
    }

    /** Writes an error response for a request that never became an exchange, and closes. */
    static void sendStandaloneError(Http1ServerHandler client, int code, String reason) {
        client.closeAfterResponse();
        writeError(client, code, reason, false, RequestIds.generate(), null);
        client.ctx().writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
                .addListener(io.netty.channel.ChannelFutureListener.CLOSE);
        client.listener().accessLog().ifPresent(log -> log.log(new AccessRecord(
                client.listener().clock().currentTimeMillis(), client.listener().name(), client.clientAddress(), "",
                "", "", code, 0, 0, 0, -1, "", "", 0, "", reason, "")));
    }

    private static void writeError(Http1ServerHandler client, int code, String reason, boolean keepAlive,
                                   String requestId, String retryAfter) {
        byte[] body = (reason + "\n").getBytes(StandardCharsets.UTF_8);
        ByteBuf out = client.ctx().alloc().buffer(160 + body.length);
        Http1Writer.statusLine(out, code);
        Http1Writer.field(out, "Content-Type", "text/plain; charset=utf-8");
        Http1Writer.contentLength(out, body.length);
        Http1Writer.field(out, "x-request-id", requestId);
        if (retryAfter != null) {
            Http1Writer.field(out, "Retry-After", retryAfter);
        }
        if (!keepAlive) {
            Http1Writer.connectionClose(out);
        }
        Http1Writer.endHead(out);
        out.writeBytes(body);
        client.ctx().write(out, client.ctx().voidPromise());
    }

    /**
     * Counts a failure of the current attempt (for outlier detection) and feeds it to the latency estimate as a
     * penalised latency, so that an endpoint failing fast does not look fast to {@code least-response-time}.
     */
    private void failed() {
        long now = client.now();
        member.load().failure();
        member.load().recordFailureLatency(now, now - attemptStartNanos, LoadStats.DEFAULT_DECAY_NANOS);
    }

    /** Releases the active-request count of the current attempt, once. */
    private void endAttempt() {
        if (counted != null) {
            counted.load().requestEnded();
            counted = null;
        }
    }

    private void succeed() {
        endExchange(true);
    }

    private void fail() {
        endExchange(false);
    }

    private void endExchange(boolean complete) {
        if (finished) {
            return;
        }
        finished = true;
        long now = client.now();
        if (upstream != null) {
            if (!complete) {
                upstream.markNotReusable();
            }
            UpstreamPools.current().offer(upstream, now);
            upstream = null;
        }
        if (member != null) {
            endAttempt();
            if (responseHeadNanos >= 0 && requestSentNanos >= 0) {
                member.load().recordLatency(now, responseHeadNanos - requestSentNanos,
                        io.sluice.endpoint.LoadStats.DEFAULT_DECAY_NANOS);
            }
        }
        String poolName = pool != null ? pool.name() : "";
        String endpoint = member != null ? member.address().toString() : "";
        listener.metrics().request(listener.name(), poolName, endpoint, status);
        if (pool != null) {
            listener.metrics().duration(poolName, now - startNanos);
        }
        listener.accessLog().ifPresent(log -> log.log(new AccessRecord(startMillis, listener.name(),
                client.clientAddress(), request.method(), request.target(), authority, status, bytesIn, bytesOut,
                now - startNanos, responseHeadNanos >= 0 && requestSentNanos >= 0
                ? responseHeadNanos - requestSentNanos : -1, poolName, endpoint, attempts,
                requestId == null ? "" : requestId, error, request.get("user-agent").orElse(""))));
        request.release();
        client.exchangeFinished(this, complete && clientKeepAlive);
    }
}
