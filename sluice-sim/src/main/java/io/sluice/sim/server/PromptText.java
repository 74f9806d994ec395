package io.sluice.sim.server;

import io.sluice.inference.PromptHasher;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import tools.jackson.databind.JsonNode;

/**
 * Turns an OpenAI request's prompt into the bytes that are hashed into KV blocks and counted as tokens.
 *
 * <p>The rule, documented in docs/simulator.md so that the proxy's prefix index can match it:
 * <ul>
 *   <li>{@code /v1/completions}: a string prompt is its UTF-8 bytes; a prompt of token ids is 4 little-endian
 *       bytes per id (so one id is exactly one token).</li>
 *   <li>{@code /v1/chat/completions}: every message in order, rendered {@code <|role|>\n} + content +
 *       {@code \n}; array content contributes its {@code text} parts.</li>
 * </ul>
 * Tokens are bytes / 4, rounded up ({@link PromptHasher#tokensOf}); blocks are 64 bytes ({@link PromptHasher}).
 * A conversation that resends its history therefore shares the history's blocks.
 */
public final class PromptText {

    /**
     * A rendered prompt.
     *
     * @param bytes  the bytes hashed into blocks
     * @param tokens the prompt length in tokens
     */
    public record Prompt(byte[] bytes, int tokens) {
    }

    private PromptText() {
    }

    /** The prompt of a completions request. */
    static Prompt completion(JsonNode prompt) {
        if (prompt == null || prompt.isNull() || prompt.isMissingNode()) {
            throw fail("prompt is required", "prompt");
        }
        if (prompt.isString()) {
            return text(prompt.asString());
        }
        if (prompt.isArray()) {
            if (prompt.isEmpty()) {
                throw fail("prompt must not be empty", "prompt");
            }
            JsonNode first = prompt.get(0);
            if (first.isString() || first.isArray()) {
                if (prompt.size() > 1) {
                    throw fail("sluice sim serves one prompt per request", "prompt");
                }
                return completion(first);
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream(prompt.size() * 4);
            for (JsonNode id : prompt) {
                if (!id.isIntegralNumber()) {
                    throw fail("prompt must be a string, a list of strings or a list of token ids", "prompt");
                }
                int v = id.asInt();
                out.write(v);
                out.write(v >>> 8);
                out.write(v >>> 16);
                out.write(v >>> 24);
            }
            return new Prompt(out.toByteArray(), prompt.size());
        }
        throw fail("prompt must be a string, a list of strings or a list of token ids", "prompt");
    }

    /** The prompt of a chat request. */
    static Prompt chat(JsonNode messages) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw fail("messages must be a non-empty list", "messages");
        }
        StringBuilder b = new StringBuilder();
        for (JsonNode m : messages) {
            JsonNode role = m.get("role");
            if (role == null || !role.isString()) {
                throw fail("every message needs a role", "messages");
            }
            JsonNode content = m.get("content");
            StringBuilder text = new StringBuilder();
            if (content != null && content.isString()) {
                text.append(content.asString());
            } else if (content != null && content.isArray()) {
                for (JsonNode part : content) {
                    JsonNode t = part.get("text");
                    if (t != null && t.isString()) {
                        text.append(t.asString());
                    }
                }
            } else if (content != null && !content.isNull()) {
                throw fail("message content must be a string or a list of parts", "messages");
            }
            b.append(rendered(role.asString(), text));
        }
        return text(b.toString());
    }

    /** One chat message as it is rendered into the prompt: {@code <|role|>\n} + content + {@code \n}. */
    static String rendered(String role, CharSequence content) {
        return "<|" + role + "|>\n" + content + "\n";
    }

    private static Prompt text(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        return new Prompt(bytes, Math.max(1, PromptHasher.tokensOf(bytes.length)));
    }

    private static OpenAiError.Failure fail(String message, String param) {
        return new OpenAiError.Failure(OpenAiError.badRequest(message, param));
    }
}
