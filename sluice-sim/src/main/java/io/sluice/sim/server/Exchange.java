package io.sluice.sim.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.sluice.sim.engine.EngineListener;
import io.sluice.sim.engine.EngineRequest;
import io.sluice.sim.engine.Failure;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One completion in flight: turns the engine's progress into the OpenAI response, either one JSON body at the
 * end or a stream of server-sent events, one per token, written as the tokens come out.
 *
 * <p>Engine callbacks arrive on the engine thread; every write is handed to the channel's event loop, in order.
 */
final class Exchange implements EngineListener {

    private final ChannelHandlerContext ctx;
    private final Replica replica;
    private final boolean chat;
    private final boolean stream;
    private final boolean includeUsage;
    private final boolean keepAlive;
    private final String id;
    private final String model;
    private final long created;
    private final int promptTokens;
    private long lastToken;
    private boolean headersSent;

    Exchange(ChannelHandlerContext ctx, Replica replica, boolean chat, boolean stream, boolean includeUsage,
             boolean keepAlive, String model, int promptTokens) {
        this.ctx = ctx;
        this.replica = replica;
        this.chat = chat;
        this.stream = stream;
        this.includeUsage = includeUsage;
        this.keepAlive = keepAlive;
        this.model = model;
        this.promptTokens = promptTokens;
        long n = replica.nextId();
        this.id = (chat ? "chatcmpl-" : "cmpl-") + Long.toHexString(System.nanoTime()) + Long.toHexString(n);
        this.created = System.currentTimeMillis() / 1000;
    }

    /** Sends the stream's headers at once, as vLLM does, so clients see the response start. */
    void start() {
        if (stream) {
            ctx.executor().execute(this::sendStreamHeaders);
        }
    }

    private void sendStreamHeaders() {
        if (headersSent) {
            return;
        }
        headersSent = true;
        HttpResponse res = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        if (!keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        ctx.write(res);
    }

    @Override
    public void onTokens(EngineRequest r, int newTokens, long nowNanos) {
        int from = r.generated() - newTokens;
        if (from == 0) {
            replica.metrics.firstToken((nowNanos - r.arrivalNanos()) / 1e9,
                    (r.firstScheduledNanos() - r.arrivalNanos()) / 1e9);
        } else {
            replica.metrics.interToken((nowNanos - lastToken) / 1e9);
        }
        lastToken = nowNanos;
        if (!stream) {
            return;
        }
        String text = TokenText.tokens(r.id(), from, r.generated());
        boolean first = from == 0;
        ctx.executor().execute(() -> {
            sendStreamHeaders();
            if (first && chat) {
                event(chunk(Map.of("role", "assistant", "content", ""), null));
            }
            event(chunk(chat ? Map.of("content", text) : text, null));
            ctx.flush();
        });
    }

    @Override
    public void onFinished(EngineRequest r, long nowNanos) {
        replica.metrics.finished((nowNanos - r.arrivalNanos()) / 1e9);
        int completion = r.generated();
        Map<String, Object> usage = usage(completion, r.cachedTokens());
        if (stream) {
            ctx.executor().execute(() -> {
                sendStreamHeaders();
                event(chunk(chat ? Map.of() : "", "length"));
                if (includeUsage) {
                    Map<String, Object> last = base();
                    last.put("choices", List.of());
                    last.put("usage", usage);
                    event(last);
                }
                ctx.write(new DefaultHttpContent(ascii("data: [DONE]\n\n")));
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(done());
            });
            return;
        }
        String text = TokenText.tokens(r.id(), 0, completion);
        Map<String, Object> body = base();
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        if (chat) {
            choice.put("message", Map.of("role", "assistant", "content", text));
        } else {
            choice.put("text", text);
            choice.put("logprobs", null);
        }
        choice.put("finish_reason", "length");
        body.put("choices", List.of(choice));
        body.put("usage", usage);
        ctx.executor().execute(() -> SimHandler.sendJson(ctx, HttpResponseStatus.OK, body, keepAlive));
    }

    @Override
    public void onFailed(EngineRequest r, Failure failure, long nowNanos) {
        ctx.executor().execute(() -> fail(failure));
    }

    private void fail(Failure failure) {
        switch (failure) {
            case ABORTED -> { }
            case RESET -> {
                // SO_LINGER 0 makes close() send a TCP RST: the client sees "connection reset", as after a crash.
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                ctx.channel().close();
            }
            default -> {
                OpenAiError error = switch (failure) {
                    case TOO_LONG -> OpenAiError.badRequest("This model's maximum context length is "
                            + replica.profile().maxModelLen() + " tokens", "max_tokens");
                    case UNAVAILABLE -> new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error",
                            "The model is still loading", "", "");
                    default -> new OpenAiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "server_error",
                            "Injected failure (sluice sim --error-rate)", "", "");
                };
                if (headersSent) {
                    event(Map.of("error", error.body().get("error")));
                    ctx.write(new DefaultHttpContent(ascii("data: [DONE]\n\n")));
                    ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT).addListener(ChannelFutureListener.CLOSE);
                } else {
                    SimHandler.sendError(ctx, error, keepAlive);
                }
            }
        }
    }

    private ChannelFutureListener done() {
        return keepAlive ? f -> { } : ChannelFutureListener.CLOSE;
    }

    private Map<String, Object> base() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("object", chat ? (stream ? "chat.completion.chunk" : "chat.completion")
                : "text_completion");
        m.put("created", created);
        m.put("model", model);
        return m;
    }

    private Map<String, Object> chunk(Object delta, String finishReason) {
        Map<String, Object> choice = new LinkedHashMap<>();
        choice.put("index", 0);
        if (chat) {
            choice.put("delta", delta);
        } else {
            choice.put("text", delta);
            choice.put("logprobs", null);
        }
        choice.put("finish_reason", finishReason);
        Map<String, Object> m = base();
        m.put("choices", List.of(choice));
        if (includeUsage) {
            m.put("usage", null);
        }
        return m;
    }

    private Map<String, Object> usage(int completion, int cached) {
        Map<String, Object> u = new LinkedHashMap<>();
        u.put("prompt_tokens", promptTokens);
        u.put("completion_tokens", completion);
        u.put("total_tokens", promptTokens + completion);
        u.put("prompt_tokens_details", Map.of("cached_tokens", cached));
        return u;
    }

    private void event(Map<String, Object> json) {
        byte[] body = SimHandler.JSON.writeValueAsBytes(json);
        ByteBuf buf = Unpooled.buffer(body.length + 8);
        buf.writeBytes(ascii("data: ")).writeBytes(body).writeBytes(ascii("\n\n"));
        ctx.write(new DefaultHttpContent(buf));
    }

    private static ByteBuf ascii(String s) {
        return Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.US_ASCII));
    }
}
