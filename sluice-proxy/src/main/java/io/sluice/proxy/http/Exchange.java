package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ConnectTimeoutException;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.endpoint.LoadStats;
import io.sluice.endpoint.Member;
import io.sluice.proxy.grpc.GrpcStatus;
import io.sluice.proxy.http1.HeaderNames;
import io.sluice.proxy.inference.InferenceCall;
import io.sluice.proxy.inference.OpenAiError;
import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.log.AccessRecord;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.proxy.upstream.UpstreamConnection;
import io.sluice.proxy.upstream.UpstreamPools;
import io.sluice.resilience.UpstreamFailure;
import java.net.ConnectException;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * One proxied request and its response, from the client's request head to the last byte of the response.
 *
 * <p>The life of an exchange: route the request to a pool, pick an endpoint, lease a pooled connection to it or
 * open one on this event loop, send the rebuilt head, stream the body through as it arrives ({@link RequestBody},
 * with backpressure both ways), and stream the response back, re-framing it for the client ({@link ResponseRelay}).
 * On a pool with an inference policy, an OpenAI request's body is read whole first and the pick goes through the
 * pool's central queue ({@link InferenceCall}).
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
final class Exchange implements TryAdmission.Owner, InferenceCall.Owner {

    final Http1ServerHandler client;
    final ListenerContext listener;
    final Http1Head request;
    private final long startNanos;
    private final long startMillis;
    final PickContext pick = new PickContext();
    final ResponseRelay response = new ResponseRelay(this);

    private ParsedRequest target;
    String requestId;
    private boolean idGenerated;

    PoolRuntime pool;
    /** The endpoint of the current (or last) try, or null. */
    Member member;
    TryAdmission admission;
    UpstreamConnection upstream;
    RetryState retries;
    final RequestBody body;
    /** True once the current try's request head reached its connection's socket. */
    private boolean headSent;
    private ScheduledFuture<?> backoff;
    private boolean connected;
    long lastActivityNanos;
    long requestSentNanos = -1;

    boolean clientKeepAlive;
    private boolean finished;
    /** The client asked to switch protocols (WebSocket): a 101 turns the exchange into a two-way tunnel. */
    final boolean upgradeRequested;
    /** A gRPC call: Sluice's own errors are told as gRPC statuses. */
    private final boolean grpc;
    /** The deadline of a gRPC call's {@code grpc-timeout}, in clock nanos; Long.MAX_VALUE if none. */
    private long grpcDeadlineNanos = Long.MAX_VALUE;
    int status;
    String error = "";
    /** The inference side of a request to a pool with an inference policy, or null. */
    InferenceCall inference;

    Exchange(Http1ServerHandler client, Http1Head request) {
        this.client = client;
        this.listener = client.listener();
        this.request = request;
        this.startNanos = client.now();
        this.lastActivityNanos = startNanos;
        this.startMillis = listener.clock().currentTimeMillis();
        this.clientKeepAlive = request.keepAlive();
        this.body = new RequestBody(client, request);
        this.grpc = GrpcStatus.isGrpc(request.get("content-type").orElse(null));
        this.upgradeRequested = ForwardedHeads.upgrade(request).isPresent();
    }

    // ------------------------------------------------------------------ start: route, pick, connect

    void start() {
        client.holdRequestBody(!body.bodyless());
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
        body.keepForRetries(limit, pool.maxAttempts() > 1);
        if (pool.inference().isPresent() && InferenceCall.applies(request.method(), target.path())) {
            inference = InferenceCall.start(pool.inference().get(), this, pick, listener.metrics(), target.path(),
                    request.contentLength(), request::get).orElse(null);
            if (inference != null && body.bodyless()) {
                inference.bodyEnd();
            } else if (inference != null) {
                body.sendContinue();
                client.releaseRequestBody();
            }
            return;
        }
        startTry();
    }

    /** Starts a try (see {@link TryAdmission}); the body read so far must still be sendable. */
    private void startTry() {
        backoff = null;
        if (finished) {
            return;
        }
        if (!body.replayable()) {
            // Defensive: the client is held while no try runs, so this cannot happen unless a chunk slipped in.
            respondError(502, "the request body could not be sent again", "upstream_reset");
            return;
        }
        admission.start();
    }

    // ------------------------------------------------------------------ TryAdmission.Owner

    @Override
    public void noEndpoint(NoEndpointException e, String reason) {
        // A retry of an inference request that finds every endpoint saturated waits in the central queue again,
        // as a first try would, instead of failing: the failed endpoint stays excluded.
        if (e.reason() == NoEndpointException.Reason.SATURATED && inference != null && inference.requeue()) {
            return;
        }
        respondError(503, reason, "no_endpoint");
    }

    @Override
    public void refused(String resource, String reason) {
        listener.metrics().breakerOverflow(pool.name(), resource);
        respondError(503, reason, "circuit_breaker", Long.toString(pool.breakers().retryAfterSeconds()));
    }

    @Override
    public io.netty.util.concurrent.EventExecutor executor() {
        return client.ctx().executor();
    }

    @Override
    public void answer(OpenAiError e) {
        respondError(e.status(), e.message(), e.reason(), e.retryAfter().orElse(null), e.body());
    }

    @Override
    public void forwardBody(ByteBuf whole) {
        body.readWhole(whole);
    }

    @Override
    public void dispatched(Member picked) {
        admission.preselect(picked);
        startTry();
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
        c.lease(response, request.method().equals("HEAD"));
        ByteBuf head = ForwardedHeads.request(c.channel().alloc(), request, target.originTarget(),
                target.authority(), target.hostFromUri(), client.clientIp(), listener.tls(), requestId, idGenerated,
                body.wholeLength());
        Channel up = c.channel();
        up.write(head).addListener(w -> {
            if (w.isSuccess() && upstream == c) {
                headSent = true;
            }
        });
        lastActivityNanos = client.now();
        if (body.attach(up)) {
            requestFullySent();
        } else {
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
    void tryFailed(UpstreamFailure failure, int code, String reason, String metricReason) {
        Member failedMember = admission.member();
        TryOutcomes.failed(pool, failedMember, Optional.of(failure), admission.tryStartNanos(), client.now());
        boolean retry = retries.retryAfter(failure, admission.tries(), headSent, body.replayable());
        abandonTry();
        if (retry) {
            retryElsewhere(failedMember);
        } else {
            respondError(code, reason, metricReason);
        }
    }

    /** Lets go of the current try: its connection (closed, never reused), its request units and its load count. */
    void abandonTry() {
        if (upstream != null) {
            upstream.markNotReusable();
            UpstreamPools.current().offer(upstream, client.now());
            upstream = null;
        }
        connected = false;
        headSent = false;
        body.detach();
        requestSentNanos = -1;
        admission.endTry();
    }

    /** Schedules the next try after the jittered backoff, avoiding the endpoint that just failed. */
    void retryElsewhere(Member failedMember) {
        pick.exclude(failedMember);
        // Body bytes wait in the client socket until the next try has sent what was already read.
        client.holdRequestBody(!body.bodyless());
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
        lastActivityNanos = client.now();
        if (inference != null && inference.reading()) {
            body.counted(content.readableBytes());
            inference.body(content);
            return;
        }
        body.chunk(content);
    }

    void requestEnd(ByteBuf trailers) {
        if (body.bodyless()) {
            // Already complete when the head arrived.
            trailers.release();
            return;
        }
        if (inference != null && inference.reading()) {
            // Trailers of a body read whole are not forwarded: it is sent with a Content-Length.
            trailers.release();
            body.endedWhole();
            inference.bodyEnd();
            return;
        }
        if (body.end(trailers)) {
            requestFullySent();
        }
    }

    private void requestFullySent() {
        body.flushAll();
        requestSentNanos = client.now();
        lastActivityNanos = requestSentNanos;
        if (!response.started()) {
            client.armTimer(requestSentNanos + pool.tryTimeoutNanos());
        }
    }

    void clientReadComplete() {
        body.flush();
    }

    void clientWritabilityChanged(boolean writable) {
        if (upstream != null) {
            upstream.channel().config().setAutoRead(writable);
        }
    }

    /** The client's request turned out malformed midway (a bad chunk): it cannot be completed. */
    void requestBroken(int status, String reason) {
        if (upstream != null) {
            upstream.markNotReusable();
        }
        client.closeAfterResponse();
        if (response.started()) {
            error = reason;
            fail();
            client.abort();
        } else {
            respondError(status, reason, "bad_request");
        }
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
            if (response.started()) {
                response.endGrpcResponse(GrpcStatus.DEADLINE_EXCEEDED, "deadline exceeded in Sluice");
            } else {
                respondError(504, "deadline exceeded (grpc-timeout)", "grpc_deadline");
            }
            return Long.MAX_VALUE;
        }
        long next = checkTimeouts(now);
        return finished ? Long.MAX_VALUE : Math.min(next, grpcDeadlineNanos);
    }

    private long checkTimeouts(long now) {
        if (finished) {
            return Long.MAX_VALUE;
        }
        if (inference != null && inference.waiting()) {
            return inference.checkQueue(now);
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
        if (!response.started() && requestSentNanos >= 0) {
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
            if (response.started()) {
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
    void respondError(int code, String reason, String metricReason) {
        respondError(code, reason, metricReason, code == 503 ? "1" : null);
    }

    private void respondError(int code, String reason, String metricReason, String retryAfter) {
        respondError(code, reason, metricReason, retryAfter, null);
    }

    private void respondError(int code, String reason, String metricReason, String retryAfter, byte[] json) {
        if (finished) {
            return;
        }
        if (response.started()) {
            error = reason;
            fail();
            client.abort();
            return;
        }
        status = code;
        error = reason;
        listener.metrics().proxyError(listener.name(), metricReason);
        boolean keepAlive = clientKeepAlive && body.ended() && !listener.draining();
        clientKeepAlive = keepAlive;
        String id = requestId == null ? RequestIds.generate() : requestId;
        if (grpc) {
            ByteBuf out = client.ctx().alloc().buffer(256);
            GrpcStatus.writeHttp1(out, GrpcStatus.forProxyError(code, metricReason), reason, id, keepAlive);
            client.ctx().write(out, client.ctx().voidPromise());
        } else if (json != null || inference != null) {
            byte[] out = json != null ? json : OpenAiError.forProxyError(code, reason, metricReason).body();
            ErrorResponses.write(client, code, "application/json", out, keepAlive, id, retryAfter);
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

    void succeed() {
        endExchange(true);
    }

    void fail() {
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
            body.releaseReplay();
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
        if (inference != null) {
            inference.end();
        }
        long headNanos = response.headNanos();
        long headLatency = headNanos >= 0 && requestSentNanos >= 0 ? headNanos - requestSentNanos : -1;
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
                status, body.bytes(), response.bytes(), now - startNanos, headLatency, poolName, endpoint, tries,
                requestId == null ? "" : requestId, error, request.get("user-agent").orElse(""))));
        request.release();
        client.exchangeFinished(this, complete && clientKeepAlive);
    }
}
