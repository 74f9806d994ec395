package io.sluice.sim.server;

import io.netty.buffer.ByteBufInputStream;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.sluice.inference.PromptHasher;
import io.sluice.sim.engine.EngineRequest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The OpenAI-compatible HTTP surface of one replica (DESIGN.md §7): {@code GET /v1/models},
 * {@code POST /v1/completions}, {@code POST /v1/chat/completions}, {@code GET /health}, {@code GET /metrics}.
 *
 * <p>Request parsing and responses that need no engine happen on the event loop; completions go to the replica's
 * {@link EngineLoop} and are answered by an {@link Exchange} as the engine progresses. Nothing here blocks.
 */
@ChannelHandler.Sharable
final class SimHandler extends SimpleChannelInboundHandler<FullHttpRequest> {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final Replica replica;

    SimHandler(Replica replica) {
        this.replica = replica;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
        boolean keepAlive = HttpUtil.isKeepAlive(req);
        String path = req.uri();
        int q = path.indexOf('?');
        if (q >= 0) {
            path = path.substring(0, q);
        }
        HttpMethod method = req.method();
        try {
            switch (path) {
                case "/health" -> {
                    expect(method, HttpMethod.GET);
                    boolean ready = replica.loop.ready();
                    send(ctx, ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE, new byte[0],
                            "text/plain", keepAlive);
                }
                case "/metrics" -> {
                    expect(method, HttpMethod.GET);
                    send(ctx, HttpResponseStatus.OK, replica.metrics.scrape(),
                            "text/plain; version=0.0.4; charset=utf-8", keepAlive);
                }
                case "/v1/models" -> {
                    expect(method, HttpMethod.GET);
                    sendJson(ctx, HttpResponseStatus.OK, models(), keepAlive);
                }
                case "/v1/completions" -> {
                    expect(method, HttpMethod.POST);
                    complete(ctx, req, false, keepAlive);
                }
                case "/v1/chat/completions" -> {
                    expect(method, HttpMethod.POST);
                    complete(ctx, req, true, keepAlive);
                }
                default -> throw new OpenAiError.Failure(new OpenAiError(HttpResponseStatus.NOT_FOUND,
                        "not_found_error", "No route for " + req.method() + " " + path, "", ""));
            }
        } catch (OpenAiError.Failure e) {
            sendError(ctx, e.error(), keepAlive);
        }
    }

    private static void expect(HttpMethod actual, HttpMethod wanted) {
        if (!actual.equals(wanted)) {
            throw new OpenAiError.Failure(new OpenAiError(HttpResponseStatus.METHOD_NOT_ALLOWED,
                    "invalid_request_error", "Use " + wanted + " here", "", ""));
        }
    }

    private Map<String, Object> models() {
        List<Object> data = new ArrayList<>();
        data.add(model(replica.model, replica.model));
        for (String a : replica.adapterList) {
            data.add(model(a, replica.model));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("object", "list");
        m.put("data", data);
        return m;
    }

    private Map<String, Object> model(String name, String root) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", name);
        m.put("object", "model");
        m.put("created", replica.createdSeconds);
        m.put("owned_by", "sluice-sim");
        m.put("root", root);
        m.put("parent", name.equals(root) ? null : root);
        m.put("max_model_len", replica.profile().maxModelLen());
        return m;
    }

    private void complete(ChannelHandlerContext ctx, FullHttpRequest req, boolean chat, boolean keepAlive) {
        JsonNode body;
        try {
            // From the bytes: Jackson's UTF-8 byte parser is several times faster on a 220 KB prompt than
            // decoding to a String first and parsing characters.
            body = JSON.readTree(new ByteBufInputStream(req.content()));
        } catch (JacksonException e) {
            throw new OpenAiError.Failure(OpenAiError.badRequest("The body is not valid JSON: "
                    + e.getOriginalMessage(), ""));
        }
        if (body == null || !body.isObject()) {
            throw new OpenAiError.Failure(OpenAiError.badRequest("The body must be a JSON object", ""));
        }
        String model = text(body, "model").orElseThrow(() -> new OpenAiError.Failure(
                OpenAiError.badRequest("model is required", "model")));
        Optional<String> adapter;
        if (model.equals(replica.model)) {
            adapter = Optional.empty();
        } else if (replica.adapters.contains(model)) {
            adapter = Optional.of(model);
        } else {
            throw new OpenAiError.Failure(new OpenAiError(HttpResponseStatus.NOT_FOUND, "not_found_error",
                    "The model `" + model + "` does not exist.", "model", "model_not_found"));
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && n.asInt(1) != 1) {
            throw new OpenAiError.Failure(OpenAiError.badRequest("sluice sim supports only n = 1", "n"));
        }
        PromptText.Prompt prompt = chat ? PromptText.chat(body.get("messages")) : PromptText.completion(
                body.get("prompt"));
        int maxTokens = maxTokens(body, chat);
        int limit = replica.profile().maxModelLen();
        if ((long) prompt.tokens() + maxTokens > limit) {
            throw new OpenAiError.Failure(OpenAiError.badRequest("This model's maximum context length is " + limit
                    + " tokens. However, you requested " + (prompt.tokens() + maxTokens) + " tokens ("
                    + prompt.tokens() + " in the messages, " + maxTokens + " in the completion).", "max_tokens"));
        }
        if (!replica.loop.ready()) {
            throw new OpenAiError.Failure(new OpenAiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "server_error",
                    "The model is still loading", "", ""));
        }
        boolean stream = body.path("stream").asBoolean(false);
        boolean usage = body.path("stream_options").path("include_usage").asBoolean(false);
        Exchange exchange = new Exchange(ctx, replica, chat, stream, usage, keepAlive, model, prompt.tokens());
        long id = replica.nextId();
        long[] hashes = PromptHasher.hash(prompt.bytes());
        EngineRequest r = EngineRequest.of(id, prompt.tokens(), maxTokens, hashes, adapter, exchange);
        byte[] answer = answerAsResent(chat, body, id, maxTokens);
        if (answer != null) {
            // The answer stays cached for a next turn that resends it, as in vLLM: the prompt's hashes, continued
            // over its last partial block and the answer.
            byte[] bytes = prompt.bytes();
            int whole = hashes.length * PromptHasher.BLOCK_BYTES;
            byte[] tail = Arrays.copyOfRange(bytes, whole, bytes.length + answer.length);
            System.arraycopy(answer, 0, tail, bytes.length - whole, answer.length);
            long[] more = PromptHasher.hash(hashes.length == 0 ? 0 : hashes[hashes.length - 1], tail, 0,
                    tail.length);
            long[] sequence = Arrays.copyOf(hashes, hashes.length + more.length);
            System.arraycopy(more, 0, sequence, hashes.length, more.length);
            r.withSequenceHashes(sequence);
        }
        ctx.channel().closeFuture().addListener(f -> {
            if (!r.done()) {
                replica.loop.abort(r);
            }
        });
        exchange.start();
        replica.loop.submit(r);
    }

    /**
     * The bytes a next request appends to this prompt when it resends this answer: for chat, the assistant message
     * as {@link PromptText} renders it; for a text completion, the completion itself. Null for a prompt of token
     * ids, whose continuation is not text. The answer is known in advance: the simulator always generates
     * {@code maxTokens} tokens of {@link TokenText}.
     */
    private static byte[] answerAsResent(boolean chat, JsonNode body, long id, int maxTokens) {
        String text = TokenText.tokens(id, 0, maxTokens);
        if (chat) {
            return PromptText.rendered("assistant", text).getBytes(StandardCharsets.UTF_8);
        }
        JsonNode prompt = body.get("prompt");
        boolean textPrompt = prompt != null && (prompt.isString()
                || (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isString()));
        return textPrompt ? text.getBytes(StandardCharsets.UTF_8) : null;
    }

    private int maxTokens(JsonNode body, boolean chat) {
        JsonNode v = body.get("max_completion_tokens");
        if (v == null || v.isNull()) {
            v = body.get("max_tokens");
        }
        if (v == null || v.isNull()) {
            return chat ? replica.defaultMaxTokens : 16;
        }
        if (!v.isIntegralNumber() || v.asInt() < 1) {
            throw new OpenAiError.Failure(OpenAiError.badRequest("max_tokens must be a positive integer",
                    "max_tokens"));
        }
        return v.asInt();
    }

    private static Optional<String> text(JsonNode body, String field) {
        JsonNode v = body.get(field);
        return v != null && v.isString() ? Optional.of(v.asString()) : Optional.empty();
    }

    static void sendError(ChannelHandlerContext ctx, OpenAiError error, boolean keepAlive) {
        sendJson(ctx, error.status(), error.body(), keepAlive);
    }

    static void sendJson(ChannelHandlerContext ctx, HttpResponseStatus status, Object body, boolean keepAlive) {
        send(ctx, status, JSON.writeValueAsBytes(body), "application/json", keepAlive);
    }

    static void send(ChannelHandlerContext ctx, HttpResponseStatus status, byte[] body, String type,
                     boolean keepAlive) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type).setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (!keepAlive) {
            res.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        }
        var f = ctx.writeAndFlush(res);
        if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ctx.close();
    }
}
