package io.sluice.proxy.inference;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.EventExecutor;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.PickContext;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Member;
import io.sluice.inference.FleetState;
import io.sluice.inference.FlowController;
import io.sluice.inference.InferenceExchange;
import io.sluice.inference.InferenceRequest;
import io.sluice.inference.ModelRouter;
import io.sluice.inference.PromptHasher;
import io.sluice.proxy.metrics.ProxyMetrics;
import java.util.Arrays;
import java.util.Optional;
import java.util.function.Function;

/**
 * One OpenAI request through a pool with an inference policy: reads the body (bounded), resolves the model, builds
 * the {@link InferenceRequest}, waits its turn in the pool's central queue when every endpoint is saturated, and
 * feeds the response's first token and end back to the scheduler ({@link InferenceExchange}).
 *
 * <p>Its life: {@link #body} and {@link #bodyEnd} while the request body arrives (413 past
 * {@code max_body_bytes}, 400 for a body that is not a valid request, 404 for a model the pool does not serve,
 * never forwarded); then the pick, through the {@link FlowController} so that priorities and tenant shares decide
 * who goes first when endpoints are saturated (a sheddable request is refused with 429 at once, a full queue
 * answers 503, a wait past {@code queue_timeout} answers 429 with {@code Retry-After}); then the owner sends the
 * buffered body (with the model rewritten when an alias or weighted rewrite applied) to the picked endpoint; then
 * {@link #responseHead}, {@link #responseBody} and {@link #end}.
 *
 * <p>Runs on the exchange's event loop, except {@link #tryDispatch} and {@link #refused}, which the queue calls under
 * its lock from whichever thread released capacity; they post their outcome to the event loop.
 */
public final class InferenceCall {

    /** What the call needs from the exchange that carries it. */
    public interface Owner {
        /** The exchange's event loop. */
        EventExecutor executor();

        /** The clock. */
        long now();

        /** True once the exchange has ended. */
        boolean finished();

        /** Answers the client with an error in OpenAI's shape and ends the exchange. */
        void answer(OpenAiError error);

        /** The request body to forward, complete; ownership passes to the owner. */
        void forwardBody(ByteBuf body);

        /** The endpoint is picked: start the try on it. */
        void dispatched(Member member);

        /** Wake the exchange at this deadline (its timer calls {@link #checkQueue}). */
        void waitUntil(long deadlineNanos);
    }

    private enum State { READING, QUEUED, PICKED, SENT, DONE }

    private static final int DEFAULT_PRIORITY = 0;

    private final Owner owner;
    private final PickContext pick;
    private final ProxyMetrics metrics;
    private final long startNanos;
    private final boolean chat;
    private final String session;
    private final String tenant;
    private final int priority;
    private final long sloTtftMillis;
    /** The pool whose queue holds or last held the request; written by a reload's thread too (moveTo). */
    private volatile InferencePool pool;
    private byte[] body;
    private int length;
    private volatile State state = State.READING;
    private Member picked;
    private NoEndpointException pickFailure;
    private InferenceExchange exchange;
    private String modelLabel = "";
    private volatile long queuedAtNanos = -1;
    private ResponseObserver observer;
    private boolean firstToken;
    private int status;

    private InferenceCall(InferencePool pool, Owner owner, PickContext pick, ProxyMetrics metrics, String path,
                          long contentLength, Function<String, Optional<String>> headers) {
        this.pool = pool;
        this.owner = owner;
        this.pick = pick;
        this.metrics = metrics;
        this.startNanos = owner.now();
        this.chat = path.equals("/v1/chat/completions");
        InferenceConfig.Headers h = pool.config().headers();
        this.session = headers.apply(h.session()).filter(s -> !s.isBlank()).orElse(null);
        this.tenant = headers.apply(h.tenant()).orElse("");
        this.priority = headers.apply(h.priority()).map(v -> priority(pool.config(), v)).orElse(DEFAULT_PRIORITY);
        this.sloTtftMillis = headers.apply(h.sloTtft()).map(InferenceCall::parseLong).orElse(0L);
        int initial = (int) Math.min(pool.config().maxBodyBytes(), contentLength > 0 ? contentLength : 4096);
        this.body = new byte[Math.max(initial, 16)];
    }

    /** True if the request is one the router reads: a POST to completions, chat completions or embeddings. */
    public static boolean applies(String method, String path) {
        return method.equals("POST") && (path.equals("/v1/chat/completions") || path.equals("/v1/completions")
                || path.equals("/v1/embeddings"));
    }

    /**
     * Starts reading a request. Answers 413 at once (and returns empty) when the announced length is over
     * {@code max_body_bytes}.
     *
     * @param path    the request path without the query
     * @param headers reads a request header by lower-case name
     */
    public static Optional<InferenceCall> start(InferencePool pool, Owner owner, PickContext pick,
                                                ProxyMetrics metrics, String path, long contentLength,
                                                Function<String, Optional<String>> headers) {
        if (contentLength > pool.config().maxBodyBytes()) {
            owner.answer(OpenAiError.tooLarge(pool.config().maxBodyBytes()));
            return Optional.empty();
        }
        return Optional.of(new InferenceCall(pool, owner, pick, metrics, path, contentLength, headers));
    }

    private static int priority(InferenceConfig config, String value) {
        Integer named = config.priorities().get(value.strip());
        if (named != null) {
            return named;
        }
        try {
            return Math.max(-1000, Math.min(1000, Integer.parseInt(value.strip())));
        } catch (NumberFormatException e) {
            return DEFAULT_PRIORITY;
        }
    }

    private static long parseLong(String v) {
        try {
            return Math.max(0, Long.parseLong(v.strip()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** True while the request body is being read. */
    public boolean reading() {
        return state == State.READING;
    }

    /** True while the request waits in the central queue (or its pick is on its way to the event loop). */
    public boolean waiting() {
        State s = state;
        return s == State.QUEUED || s == State.PICKED;
    }

    // ------------------------------------------------------------------ request body

    /** A chunk of the request body (released here). */
    public void body(ByteBuf content) {
        try {
            int n = content.readableBytes();
            long max = pool.config().maxBodyBytes();
            if (length + (long) n > max) {
                state = State.DONE;
                body = null;
                owner.answer(OpenAiError.tooLarge(max));
                return;
            }
            if (length + n > body.length) {
                body = Arrays.copyOf(body, (int) Math.min(max, Math.max(length + n, body.length * 2L)));
            }
            content.readBytes(body, length, n);
            length += n;
        } finally {
            content.release();
        }
    }

    /** The request body is complete: parse it, resolve the model, and ask the queue for a turn. */
    public void bodyEnd() {
        if (state != State.READING) {
            return;
        }
        OpenAiRequest parsed;
        try {
            parsed = OpenAiRequest.parse(body, length, chat);
        } catch (OpenAiRequest.Invalid e) {
            state = State.DONE;
            owner.answer(OpenAiError.badRequest(e.getMessage(), e.param()));
            return;
        }
        ModelRouter router = pool.models();
        Optional<ModelRouter.Route> route = router.resolve(parsed.model(), java.util.concurrent.ThreadLocalRandom
                .current(), pool.fleet().discoveredAdapters());
        if (route.isEmpty()) {
            state = State.DONE;
            owner.answer(OpenAiError.unknownModel(parsed.model(),
                    router.servedNames(pool.fleet().discoveredAdapters())));
            return;
        }
        ModelRouter.Route r = route.get();
        String forwardName = r.adapter().orElse(r.model());
        modelLabel = router.restricted() ? forwardName : "unlisted";
        byte[] out = forwardName.equals(parsed.model()) ? body : parsed.withModel(body, length, forwardName);
        int outLength = out == body ? length : out.length;
        owner.forwardBody(Unpooled.wrappedBuffer(out, 0, outLength));
        body = null;
        InferenceRequest request = new InferenceRequest(r.model(), r.adapter(), PromptHasher.hash(parsed.prompt()),
                parsed.promptTokens(), parsed.maxTokens(), Optional.ofNullable(session), priority, tenant,
                sloTtftMillis, parsed.stream());
        exchange = InferenceExchange.of(request);
        pick.attach(exchange);
        for (Member m : pool.pool().members()) {
            if (!pool.mayServe(m, forwardName)) {
                pick.disallow(m);
            }
        }
        submit();
    }

    private void submit() {
        queuedAtNanos = owner.now();
        state = State.QUEUED;
        FlowController.Outcome o;
        while (true) {
            // The pool in force: a reload may have replaced the one this request started in.
            InferencePool p = pool.current();
            pool = p;
            o = p.queue().submit(this, priority, tenant, () -> p.fleet().predictedPrefillSeconds(exchange.request()),
                    InferenceCall::tryDispatch);
            // Replaced while queueing here (after the new pool took over this queue's requests): follow it.
            if (o != FlowController.Outcome.QUEUED || p.current() == p || !p.queue().cancel(this)) {
                break;
            }
        }
        switch (o) {
            case SHED_SHEDDABLE -> {
                state = State.DONE;
                owner.answer(OpenAiError.overloaded("every endpoint of pool " + pool.name()
                        + " is saturated and the request is sheddable", pool.queue().retryAfterSeconds(),
                        "inference_shed"));
            }
            case REJECTED_FULL -> {
                state = State.DONE;
                owner.answer(OpenAiError.unavailable("the queue of pool " + pool.name() + " is full",
                        pool.queue().retryAfterSeconds(), "inference_queue_full"));
            }
            case QUEUED -> {
                if (state == State.QUEUED) {
                    owner.waitUntil(queuedAtNanos + pool.config().flowControl().queueTimeout().toNanos());
                }
            }
            case DISPATCHED -> {
                // The pick is on its way to the event loop.
            }
        }
    }

    /**
     * Puts a request whose try failed back into the central queue: its retry found every endpoint saturated. Called
     * on the event loop between two tries (the exchange has let go of the failed one).
     *
     * @return false if the request is not a sent inference request (the caller answers 503)
     */
    public boolean requeue() {
        if (state != State.SENT || exchange == null || owner.finished()) {
            return false;
        }
        submit();
        return true;
    }

    /**
     * Moves a queued request into the queue of the pool that replaced this one on a reload. Its wait starts again
     * there (under the new pool's timeout): the queue orders and times out by its own enqueue time.
     */
    void moveTo(InferencePool next) {
        pool = next;
        queuedAtNanos = owner.now();
        FlowController.Outcome o = next.queue().submit(this, priority, tenant,
                () -> next.fleet().predictedPrefillSeconds(exchange.request()), InferenceCall::tryDispatch);
        if (o == FlowController.Outcome.SHED_SHEDDABLE || o == FlowController.Outcome.REJECTED_FULL) {
            refused(FlowController.ShedReason.QUEUE_FULL, next.queue().retryAfterSeconds());
        }
    }

    // ------------------------------------------------------------------ called by the queue, under its lock

    /**
     * Tries to pick an endpoint. Runs under the queue's lock on any thread; the outcome is posted to the event loop.
     *
     * @return false if every endpoint is still saturated
     */
    boolean tryDispatch() {
        if (state != State.QUEUED) {
            return true;
        }
        try {
            // A queue kept across a reload (same flow control) holds requests of the replaced pool too: pick through
            // the pool in force.
            InferencePool p = pool.current();
            pool = p;
            picked = p.pool().select(pick);
        } catch (NoEndpointException e) {
            if (e.reason() == NoEndpointException.Reason.SATURATED) {
                return false;
            }
            pickFailure = e;
        }
        state = State.PICKED;
        owner.executor().execute(this::picked);
        return true;
    }

    /** The queue refused the request after it had waited (time-out, or pushed out of a full queue). */
    void refused(FlowController.ShedReason reason, long retryAfterSeconds) {
        state = State.DONE;
        owner.executor().execute(() -> {
            if (owner.finished()) {
                return;
            }
            if (reason == FlowController.ShedReason.TIMEOUT) {
                owner.answer(OpenAiError.overloaded("waited " + pool.config().flowControl().queueTimeout().toMillis()
                        + " ms in the queue of pool " + pool.name() + " without an endpoint free",
                        retryAfterSeconds, "inference_queue_timeout"));
            } else {
                owner.answer(OpenAiError.unavailable("pushed out of the full queue of pool " + pool.name()
                        + " by a request of higher priority", retryAfterSeconds, "inference_queue_full"));
            }
        });
    }

    private void picked() {
        if (state != State.PICKED) {
            return;
        }
        long now = owner.now();
        if (owner.finished()) {
            // The client left while the pick was on its way: give the booking back.
            state = State.DONE;
            exchange.finished(now);
            pool.dispatchQueued(FleetState.RELEASED_BY_REQUEST);
            return;
        }
        metrics.inferenceQueueWait(pool.name(), now - queuedAtNanos);
        if (pickFailure != null) {
            state = State.DONE;
            owner.answer(new OpenAiError(503, pickFailure.reason().message() + " for model "
                    + exchange.request().model() + " in pool " + pool.name(), "server_error", Optional.empty(),
                    "no_endpoint", Optional.of("1"), "no_endpoint"));
            return;
        }
        state = State.SENT;
        owner.dispatched(picked);
    }

    /**
     * The exchange's timer fired while the request may be queued: refuses what waited past the timeout.
     *
     * @return the next deadline, or {@link Long#MAX_VALUE}
     */
    public long checkQueue(long now) {
        if (state != State.QUEUED) {
            return Long.MAX_VALUE;
        }
        long deadline = queuedAtNanos + pool.config().flowControl().queueTimeout().toNanos();
        if (now >= deadline) {
            pool.queue().expire();
        }
        return state == State.QUEUED ? Math.max(deadline, now + 1_000_000) : Long.MAX_VALUE;
    }

    // ------------------------------------------------------------------ response

    /** The response head arrived. */
    public void responseHead(int responseStatus, Optional<String> contentType) {
        status = responseStatus;
        boolean sse = contentType.map(t -> t.regionMatches(true, 0, "text/event-stream", 0, 17)).orElse(false);
        observer = new ResponseObserver(sse);
    }

    /** A chunk of the response body, on its way to the client (not consumed). */
    public void responseBody(ByteBuf content) {
        if (observer != null && status / 100 == 2 && observer.body(content) && !firstToken) {
            firstToken(owner.now());
        }
    }

    private void firstToken(long now) {
        firstToken = true;
        if (exchange != null) {
            exchange.firstToken(now);
        }
        metrics.inferenceTtft(pool.name(), modelLabel, now - startNanos);
        if (sloTtftMillis > 0) {
            metrics.inferenceTtftSlo(pool.name(), modelLabel, (now - startNanos) / 1_000_000L < sloTtftMillis);
        }
        if (exchange != null && state == State.SENT) {
            // Its prefill is done: the endpoint's prefill backlog shrank, one queued request may take its place.
            pool.dispatchQueued(FleetState.RELEASED_BY_REQUEST);
        }
    }

    /** The exchange ended, however it ended. */
    public void end() {
        long now = owner.now();
        State s = state;
        state = State.DONE;
        // Left the queue already if it is not there any more: picked (the pick booked a place) on another thread.
        boolean pickedMeanwhile = s == State.QUEUED && !pool.queue().cancel(this);
        if (exchange == null) {
            return;
        }
        boolean ok = status / 100 == 2;
        // Whether the request held (or had just been given) a place on an endpoint, which its end frees.
        boolean held = s == State.SENT || s == State.PICKED || pickedMeanwhile;
        if (ok && !firstToken && s == State.SENT) {
            firstToken(now);
        }
        exchange.finished(now);
        if (ok && observer != null) {
            long[] usage = observer.usage();
            long prompt = usage != null && usage[0] >= 0 ? usage[0] : exchange.request().promptTokens();
            long completion = usage != null && usage[1] >= 0 ? usage[1] : 0;
            metrics.inferenceTokens(pool.name(), modelLabel, prompt, completion);
        }
        // The request held a place on an endpoint: one queued request may take it.
        pool.dispatchQueued(held ? FleetState.RELEASED_BY_REQUEST : 0);
    }
}
