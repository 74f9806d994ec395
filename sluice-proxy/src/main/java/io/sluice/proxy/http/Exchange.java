package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.balance.PickContext;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.proxy.grpc.GrpcStatus;
import io.sluice.proxy.http1.HeaderNames;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.http1.Http1Writer;
import io.sluice.proxy.log.AccessRecord;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamListener;
import io.sluice.proxy.upstream.UpstreamPools;
import io.sluice.resilience.UpstreamFailure;
import java.net.ConnectException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One proxied request and its response, from the client's request head to the last byte of the response.
 *
 * <p>The life of an exchange: route the request to a pool, pick an endpoint, lease a pooled connection to it or
 * open one on this event loop, send the rebuilt head, stream the body through as it arrives (with backpressure both
 * ways), and stream the response back, re-framing it for the client.
 *
 * <p>Each try takes a unit of the pool's and the endpoint's {@code max_requests} and, for a new connection, of
 * {@code max_connections}; without a free connection the request waits in the pool's pending queue (see
 * docs/operations.md). A try that fails before any response byte reached the client (connect failure, reset,
 * per-try timeout, or a status listed in {@code retries.on}, whose response is then discarded) is reported to
 * outlier detection and tried again on another endpoint when the pool's {@link io.sluice.resilience.RetryPolicy}
 * and retry budget allow it (see {@link RetryState}); the body read so far is replayed from a {@link RequestReplay}.
 * Otherwise the exchange answers the client itself: 404 (no route), 503 (no usable endpoint, connect failures, a
 * circuit breaker, with {@code Retry-After}), 502 (the endpoint reset or broke the protocol before answering), 504
 * (no response head in time).
 */
final class Exchange implements UpstreamListener, TryAdmission.Owner {

    private final Http1ServerHandler client;
    private final ListenerContext listener;
    private final Http1Head request;
    private final long startNanos;
    private final long startMillis;
    private final PickContext pick = new PickContext();

    private ParsedRequest target;
    private String requestId;
    private boolean idGenerated;

    private PoolRuntime pool;
    /** The endpoint of the current (or last) try, or null. */
    private Member member;
    private TryAdmission admission;
    private UpstreamConnection upstream;
    private RetryState retries;
    private RequestReplay replay;
    /** True once the current try's request head reached its connection's socket. */
    private boolean headSent;
    private boolean continueSent;
    private ScheduledFuture<?> backoff;
    private boolean connected;
    private final boolean bodyless;
    private boolean requestEnded;
    private boolean bodyStarted;
    private boolean upstreamNeedsFlush;
    private boolean clientNeedsFlush;
    private long lastActivityNanos;
    private long requestSentNanos = -1;
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

    // ------------------------------------------------------------------ start: route, pick, connect

    void start() {
        client.holdRequestBody(!bodyless);
        if (request.method().equals("CONNECT")) {
            respondError(405, "CONNECT is not supported", "method_not_allowed");
            return;
        }
        Optional<ParsedRequest> parsed = ParsedRequest.of(request, client.clientIpKey());
        if (parsed.isEmpty()) {
            respondError(400, "invalid request target", "bad_request");
            return;
        }
        target = parsed.get();
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
        Optional<PoolRuntime> routed = runtime.router(listener.name()).flatMap(r -> r.route(target));
        if (routed.isEmpty()) {
            respondError(404, "no route for " + target.host() + target.path(), "no_route");
            return;
        }
        pool = routed.get();
        pool.affinity().prepare(pick, target);
        admission = new TryAdmission(this, pool, pick, listener.connector(), client.ctx().channel());
        retries = new RetryState(pool, listener.metrics(), request.method());
        long limit = pool.retryPolicy().maxBodyBuffer();
        replay = new RequestReplay(limit, !bodyless && pool.maxAttempts() > 1 && request.contentLength() <= limit);
        startTry();
    }

    /** Starts a try (see {@link TryAdmission}); the body read so far must still be sendable. */
    private void startTry() {
        backoff = null;
        if (finished) {
            return;
        }
        if (bodyStarted && !replay.intact()) {
            // Defensive: the client is held while no try runs, so this cannot happen unless a chunk slipped in.
            respondError(502, "the request body could not be sent again", "upstream_reset");
            return;
        }
        admission.start();
    }

    // ------------------------------------------------------------------ TryAdmission.Owner

    @Override
    public void noEndpoint(String reason) {
        respondError(503, reason, "no_endpoint");
    }

    @Override
    public void refused(String resource, String reason) {
        listener.metrics().breakerOverflow(pool.name(), resource);
        respondError(503, reason, "circuit_breaker", Long.toString(pool.breakers().retryAfterSeconds()));
    }

    @Override
    public void waitUntil(long deadlineNanos) {
        client.armTimer(deadlineNanos);
    }

    @Override
    public boolean finished() {
        return finished;
    }

    @Override
    public long now() {
        return client.now();
    }

    @Override
    public void connected(UpstreamConnection c) {
        upstream = c;
        member = admission.member();
        connected = true;
        c.lease(this, request.method().equals("HEAD"));
        ByteBuf head = ForwardedHeads.request(c.channel().alloc(), request, target.originTarget(),
                target.authority(), target.hostFromUri(), client.clientIp(), listener.tls(), requestId, idGenerated);
        Channel up = c.channel();
        up.write(head).addListener(w -> {
            if (w.isSuccess() && upstream == c) {
                headSent = true;
            }
        });
        upstreamNeedsFlush = true;
        lastActivityNanos = client.now();
        if (bodyStarted) {
            // A retry: send the body read so far again before streaming the rest.
            replay.writeTo(up, request.chunked());
        }
        if (requestEnded) {
            if (!bodyless) {
                writeRequestEnd(up, replay.trailersForWrite());
            }
            requestFullySent();
        } else {
            if (request.expectContinue() && !continueSent) {
                continueSent = true;
                ByteBuf cont = client.ctx().alloc().buffer(32);
                Http1Writer.statusLine(cont, 100);
                Http1Writer.endHead(cont);
                client.ctx().writeAndFlush(cont, client.ctx().voidPromise());
            }
            client.releaseRequestBody();
            clientReadComplete();
        }
    }

    @Override
    public void connectFailed(Throwable cause) {
        boolean timeout = cause instanceof ConnectTimeoutException;
        String why = timeout ? "upstream connect timeout" : cause instanceof ConnectException
                ? "upstream connect refused" : "upstream connect failed: " + cause.getMessage();
        tryFailed(UpstreamFailure.CONNECT_FAILURE, 503, why, timeout ? "connect_timeout" : "connect_failed");
    }

    /**
     * The current try failed before any response byte reached the client: reports it, then tries again on another
     * endpoint if the retry rules and budget allow, or answers the client with the given error.
     */
    private void tryFailed(UpstreamFailure failure, int code, String reason, String metricReason) {
        Member failedMember = admission.member();
        TryOutcomes.failed(pool, failedMember, Optional.of(failure), admission.tryStartNanos(), client.now());
        boolean retry = retries.retryAfter(failure, admission.tries(), headSent, bodyReplayable());
        abandonTry();
        if (retry) {
            retryElsewhere(failedMember);
        } else {
            respondError(code, reason, metricReason);
        }
    }

    /** True if the whole request can be sent again: no body, none of it read yet, or all of it kept. */
    private boolean bodyReplayable() {
        return bodyless || !bodyStarted || replay.intact();
    }

    /** Lets go of the current try: its connection (closed, never reused), its request units and its load count. */
    private void abandonTry() {
        if (upstream != null) {
            upstream.markNotReusable();
            UpstreamPools.current().offer(upstream, client.now());
            upstream = null;
        }
        connected = false;
        headSent = false;
        upstreamNeedsFlush = false;
        requestSentNanos = -1;
        admission.endTry();
    }

    /** Schedules the next try after the jittered backoff, avoiding the endpoint that just failed. */
    private void retryElsewhere(Member failedMember) {
        pick.exclude(failedMember);
        // Body bytes wait in the client socket until the next try has sent what was already read.
        client.holdRequestBody(!bodyless);
        long delay = retries.backoffNanos(admission.tries());
        if (delay <= 0) {
            startTry();
        } else {
            backoff = client.ctx().executor().schedule(this::startTry, delay, TimeUnit.NANOSECONDS);
        }
    }

    // ------------------------------------------------------------------ request body

    void requestBody(ByteBuf content) {
        if (finished || pool == null) {
            content.release();
            return;
        }
        bodyStarted = true;
        int n = content.readableBytes();
        bytesIn += n;
        lastActivityNanos = client.now();
        replay.add(content);
        if (!connected) {
            // Between tries: kept in the replay buffer if it fits, else the request can no longer be retried.
            content.release();
            return;
        }
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
        if (replay != null) {
            replay.end(trailers);
        }
        if (!connected) {
            trailers.release();
            return;
        }
        writeRequestEnd(upstream.channel(), trailers);
        requestFullySent();
    }

    /** Writes the end of a chunked body (the last chunk and trailers); releases the trailers. */
    private void writeRequestEnd(Channel up, ByteBuf trailers) {
        if (request.chunked()) {
            if (trailers.isReadable()) {
                up.write(Http1Writer.lastChunk(up.alloc(), trailers), up.voidPromise());
            } else {
                up.write(Http1Writer.lastChunk(), up.voidPromise());
            }
        }
        trailers.release();
    }

    private void requestFullySent() {
        upstreamNeedsFlush = false;
        upstream.channel().flush();
        requestSentNanos = client.now();
        lastActivityNanos = requestSentNanos;
        if (!responseStarted) {
            client.armTimer(requestSentNanos + pool.tryTimeoutNanos());
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
                // Not the endpoint's fault, and no other endpoint would answer differently: no retry.
                head.release();
                abandonTry();
                respondError(502, "upstream sent an invalid response: 101 Switching Protocols without an Upgrade "
                        + "request", "upstream_protocol_error");
                return;
            }
            head.release();
            return;
        }
        status = s;
        responseHeadNanos = client.now();
        TryOutcomes.answered(pool, member, head, responseHeadNanos, listener.clock().currentTimeMillis());
        if (retries.retryAfter(s, admission.tries(), bodyReplayable())) {
            // Not forwarded: the rest of this response is dropped, the request goes to another endpoint.
            Member answered = member;
            TryOutcomes.failed(pool, answered, Optional.empty(), admission.tryStartNanos(), responseHeadNanos);
            UpstreamConnection c = upstream;
            upstream = null;
            ResponseDiscarder.takeOver(c, head, requestSentNanos >= 0, listener.clock());
            abandonTry();
            status = 0;
            responseHeadNanos = -1;
            retryElsewhere(answered);
            return;
        }
        replay.release();
        lastActivityNanos = responseHeadNanos;
        responseStarted = true;
        framing = ForwardedHeads.Framing.of(request, head);
        if (framing == ForwardedHeads.Framing.CLOSE || !requestEnded || listener.draining()) {
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
        TryOutcomes.answered(pool, member, head, responseHeadNanos, listener.clock().currentTimeMillis());
        replay.release();
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
        if (responseStarted) {
            upstream.markNotReusable();
            TryOutcomes.failed(pool, member, Optional.of(UpstreamFailure.RESET_AFTER_RESPONSE),
                    admission.tryStartNanos(), client.now());
            error = "upstream broke the response: " + reason;
            fail();
            client.abort();
        } else {
            tryFailed(UpstreamFailure.RESET_BEFORE_RESPONSE, 502, "upstream sent an invalid response: " + reason,
                    "upstream_protocol_error");
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
            TryOutcomes.failed(pool, member, Optional.of(UpstreamFailure.RESET_AFTER_RESPONSE),
                    admission.tryStartNanos(), client.now());
            fail();
            client.abort();
            return;
        }
        tryFailed(UpstreamFailure.RESET_BEFORE_RESPONSE, 502, "upstream reset before response", "upstream_reset");
    }

    /** Checks this exchange's deadlines; returns the next one. */
    long checkDeadlines(long now) {
        if (!finished && now >= grpcDeadlineNanos) {
            // The caller's deadline passed: it has given up, so Sluice does too (gRPC's deadline propagation).
            if (upstream != null) {
                upstream.markNotReusable();
            }
            if (admission != null) {
                admission.stopWaiting();
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
        error = message;
        if (framing == ForwardedHeads.Framing.CHUNKED) {
            ByteBuf trailers = client.ctx().alloc().buffer(64);
            Http1Writer.field(trailers, "grpc-status", Integer.toString(code));
            Http1Writer.field(trailers, "grpc-message", message);
            client.ctx().write(Http1Writer.lastChunk(client.ctx().alloc(), trailers), client.ctx().voidPromise());
            trailers.release();
            client.ctx().flush();
            clientKeepAlive = false;
            fail();
        } else {
            fail();
            client.abort();
        }
    }

    private long checkTimeouts(long now) {
        if (finished) {
            return Long.MAX_VALUE;
        }
        if (admission != null && admission.waiting()) {
            long waitDeadline = admission.waitDeadlineNanos();
            if (now >= waitDeadline) {
                admission.stopWaiting();
                refused("pending_timeout", "no connection to pool " + pool.name() + " within "
                        + pool.current().pending().timeout().toMillis() + " ms");
                return Long.MAX_VALUE;
            }
            return waitDeadline;
        }
        if (!responseStarted && requestSentNanos >= 0) {
            long headDeadline = requestSentNanos + pool.tryTimeoutNanos();
            if (now >= headDeadline) {
                tryFailed(UpstreamFailure.TIMEOUT, 504, "upstream response timeout", "response_timeout");
                return finished ? Long.MAX_VALUE : lastActivityNanos + idleTimeout();
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
        respondError(code, reason, metricReason, code == 503 ? "1" : null);
    }

    private void respondError(int code, String reason, String metricReason, String retryAfter) {
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
        String id = requestId == null ? RequestIds.generate() : requestId;
        if (grpc) {
            ByteBuf out = client.ctx().alloc().buffer(256);
            GrpcStatus.writeHttp1(out, GrpcStatus.forProxyError(code, metricReason), reason, id, keepAlive);
            client.ctx().write(out, client.ctx().voidPromise());
        } else {
            ErrorResponses.write(client, code, reason, keepAlive, id, retryAfter);
        }
        client.ctx().flush();
        if (upstream != null && !upstream.channel().isActive()) {
            upstream = null;
        } else if (upstream != null) {
            upstream.markNotReusable();
        }
        // The client got a complete response: its connection stays open if the response said so.
        endExchange(true);
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
        if (backoff != null) {
            backoff.cancel(false);
            backoff = null;
        }
        if (admission != null) {
            admission.stopWaiting();
            retries.release();
            replay.release();
        }
        if (upstream != null) {
            // A pool at its connection limit with requests waiting: free the connection for them.
            if (!complete || pool.current().pending().size() > 0) {
                upstream.markNotReusable();
            }
            UpstreamPools.current().offer(upstream, now);
            upstream = null;
        }
        Member last = null;
        if (admission != null) {
            admission.endTry();
            last = admission.member();
        }
        long headLatency = responseHeadNanos >= 0 && requestSentNanos >= 0 ? responseHeadNanos - requestSentNanos : -1;
        if (member != null && headLatency >= 0) {
            member.load().recordLatency(now, headLatency, LoadStats.DEFAULT_DECAY_NANOS);
        }
        String poolName = pool != null ? pool.name() : "";
        String endpoint = last != null ? last.address().toString() : "";
        listener.metrics().request(listener.name(), poolName, endpoint, status);
        if (pool != null) {
            listener.metrics().duration(poolName, now - startNanos);
        }
        int tries = admission == null ? 0 : admission.tries();
        listener.accessLog().ifPresent(log -> log.log(new AccessRecord(startMillis, listener.name(),
                client.clientAddress(), request.method(), request.target(), target == null ? "" : target.authority(),
                status, bytesIn, bytesOut, now - startNanos, headLatency, poolName, endpoint, tries,
                requestId == null ? "" : requestId, error, request.get("user-agent").orElse(""))));
        request.release();
        client.exchangeFinished(this, complete && clientKeepAlive);
    }
}
