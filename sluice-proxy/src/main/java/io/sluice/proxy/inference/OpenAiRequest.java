package io.sluice.proxy.inference;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * What the router reads from an OpenAI request body ({@code /v1/completions}, {@code /v1/chat/completions},
 * {@code /v1/embeddings}): the model, the stream flag, the output limit and the prompt as the bytes that are hashed
 * into blocks.
 *
 * <p>The prompt is rendered as {@code sluice sim} renders it (docs/simulator.md), so that the router's prefix index
 * and the simulated KV cache cut the same blocks: a string prompt (or {@code input}) is its UTF-8 bytes, a list of
 * token ids is 4 little-endian bytes per id, a list of strings is their concatenation; chat messages are rendered in
 * order as {@code <|role|>\n} + content + {@code \n}, array content contributing its {@code text} parts. Other
 * fields are skipped without being materialised. The body is read with Jackson's streaming parser, in one pass.
 *
 * @param model      the {@code model} field
 * @param modelStart offset of the model value's opening quote in the body (for a rewrite)
 * @param modelEnd   offset just past the model value's closing quote
 * @param stream     the {@code stream} flag
 * @param maxTokens  {@code max_tokens} (or {@code max_completion_tokens}), 0 if absent
 * @param prompt     the rendered prompt bytes
 * @param promptTokens prompt length in tokens (token ids count one each; text ≈ 4 bytes per token)
 */
public record OpenAiRequest(String model, int modelStart, int modelEnd, boolean stream, int maxTokens, byte[] prompt,
                            int promptTokens) {

    private static final JsonFactory JSON = new JsonFactory();

    /** A body that is not a valid request: answer 400 with this message, naming the parameter. */
    public static final class Invalid extends Exception {
        private static final long serialVersionUID = 1L;
        private final String param;

        Invalid(String message, String param) {
            super(message, null, false, false);
            this.param = param;
        }

        /** The offending parameter, if one is to blame. */
        public Optional<String> param() {
            return Optional.ofNullable(param);
        }
    }

    /** The body with the model value replaced (the rest byte for byte as received). */
    public byte[] withModel(byte[] body, int length, String newModel) {
        byte[] quoted = quote(newModel);
        byte[] out = new byte[length - (modelEnd - modelStart) + quoted.length];
        System.arraycopy(body, 0, out, 0, modelStart);
        System.arraycopy(quoted, 0, out, modelStart, quoted.length);
        System.arraycopy(body, modelEnd, out, modelStart + quoted.length, length - modelEnd);
        return out;
    }

    private static byte[] quote(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads a request body.
     *
     * @param chat true for {@code /v1/chat/completions} (the prompt is {@code messages})
     * @throws Invalid if the body is not a JSON object, or a field the router reads has the wrong type
     */
    public static OpenAiRequest parse(byte[] body, int length, boolean chat) throws Invalid {
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, length)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new Invalid("the request body must be a JSON object", null);
            }
            String model = null;
            int modelStart = -1;
            boolean stream = false;
            int maxTokens = 0;
            Prompt prompt = null;
            String name;
            while ((name = p.nextName()) != null) {
                JsonToken t = p.nextToken();
                switch (name) {
                    case "model" -> {
                        if (t != JsonToken.VALUE_STRING) {
                            throw new Invalid("model must be a string", "model");
                        }
                        modelStart = (int) p.currentTokenLocation().getByteOffset();
                        model = p.getString();
                    }
                    case "stream" -> {
                        if (t != JsonToken.VALUE_TRUE && t != JsonToken.VALUE_FALSE && t != JsonToken.VALUE_NULL) {
                            throw new Invalid("stream must be a boolean", "stream");
                        }
                        stream = t == JsonToken.VALUE_TRUE;
                    }
                    case "max_tokens", "max_completion_tokens" -> {
                        if (t == JsonToken.VALUE_NUMBER_INT) {
                            long v = p.getLongValue();
                            if (v < 0) {
                                throw new Invalid(name + " must not be negative", name);
                            }
                            maxTokens = (int) Math.min(Integer.MAX_VALUE, v);
                        } else if (t != JsonToken.VALUE_NULL) {
                            throw new Invalid(name + " must be an integer", name);
                        }
                    }
                    case "messages" -> {
                        if (chat) {
                            prompt = messages(p, t, body, length);
                        } else {
                            p.skipChildren();
                        }
                    }
                    case "prompt", "input" -> {
                        if (!chat) {
                            prompt = prompt(p, t, name, body, length);
                        } else {
                            p.skipChildren();
                        }
                    }
                    default -> p.skipChildren();
                }
            }
            if (p.nextToken() != null) {
                throw new Invalid("unexpected content after the JSON object", null);
            }
            if (model == null) {
                throw new Invalid("you must provide a model parameter", "model");
            }
            if (prompt == null) {
                throw chat ? new Invalid("messages must be a non-empty list", "messages")
                        : new Invalid("prompt (input for embeddings) is required", "prompt");
            }
            int modelEnd = stringEnd(body, modelStart, length);
            return new OpenAiRequest(model, modelStart, modelEnd, stream, maxTokens, prompt.bytes, prompt.tokens);
        } catch (JacksonException e) {
            throw new Invalid("the request body is not valid JSON: " + e.getOriginalMessage(), null);
        }
    }

    private record Prompt(byte[] bytes, int tokens) {
        static Prompt text(PromptBuffer text) {
            return new Prompt(text.toByteArray(), Math.max(1, (text.length() + 3) / 4));
        }
    }

    private static Prompt prompt(JsonParser p, JsonToken t, String name, byte[] body, int length) throws Invalid {
        if (t == JsonToken.VALUE_STRING) {
            PromptBuffer text = new PromptBuffer(length);
            text.appendString(p, body, length);
            return Prompt.text(text);
        }
        if (t != JsonToken.START_ARRAY) {
            throw new Invalid(name + " must be a string, a list of strings or a list of token ids", name);
        }
        ByteArrayOutputStream ids = new ByteArrayOutputStream();
        PromptBuffer text = new PromptBuffer(length);
        int count = 0;
        boolean strings = false;
        JsonToken e;
        while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
            if (e == JsonToken.VALUE_STRING) {
                strings = true;
                text.appendString(p, body, length);
            } else if (e == JsonToken.VALUE_NUMBER_INT) {
                int v = p.getIntValue();
                ids.write(v);
                ids.write(v >>> 8);
                ids.write(v >>> 16);
                ids.write(v >>> 24);
            } else if (e == JsonToken.START_ARRAY) {
                // A batch of token-id lists: every id counts.
                while (p.nextToken() == JsonToken.VALUE_NUMBER_INT) {
                    int v = p.getIntValue();
                    ids.write(v);
                    ids.write(v >>> 8);
                    ids.write(v >>> 16);
                    ids.write(v >>> 24);
                }
                if (p.currentToken() != JsonToken.END_ARRAY) {
                    throw new Invalid(name + " token id lists must hold integers", name);
                }
            } else {
                throw new Invalid(name + " must be a string, a list of strings or a list of token ids", name);
            }
            count++;
        }
        if (count == 0) {
            throw new Invalid(name + " must not be empty", name);
        }
        if (strings) {
            return Prompt.text(text);
        }
        return new Prompt(ids.toByteArray(), ids.size() / 4);
    }

    private static Prompt messages(JsonParser p, JsonToken t, byte[] body, int length) throws Invalid {
        if (t != JsonToken.START_ARRAY) {
            throw new Invalid("messages must be a non-empty list", "messages");
        }
        PromptBuffer b = new PromptBuffer(length);
        PromptBuffer content = new PromptBuffer(Math.min(length, 1 << 16));
        int n = 0;
        while (p.nextToken() == JsonToken.START_OBJECT) {
            String role = null;
            boolean hasContent = false;
            String name;
            while ((name = p.nextName()) != null) {
                JsonToken v = p.nextToken();
                if (name.equals("role") && v == JsonToken.VALUE_STRING) {
                    role = p.getString();
                } else if (name.equals("content")) {
                    hasContent = content(p, v, body, length, content);
                } else {
                    p.skipChildren();
                }
            }
            if (role == null) {
                throw new Invalid("every message needs a role", "messages");
            }
            b.append("<|" + role + "|>\n");
            if (hasContent) {
                b.append(content);
            }
            b.append("\n");
            n++;
        }
        if (p.currentToken() != JsonToken.END_ARRAY) {
            throw new Invalid("every message must be an object", "messages");
        }
        if (n == 0) {
            throw new Invalid("messages must be a non-empty list", "messages");
        }
        return Prompt.text(b);
    }

    /** Renders a message's content into {@code out} (cleared first); false if it is null. */
    private static boolean content(JsonParser p, JsonToken v, byte[] body, int length, PromptBuffer out)
            throws Invalid {
        out.clear();
        if (v == JsonToken.VALUE_STRING) {
            out.appendString(p, body, length);
            return true;
        }
        if (v == JsonToken.VALUE_NULL) {
            return false;
        }
        if (v != JsonToken.START_ARRAY) {
            throw new Invalid("message content must be a string or a list of parts", "messages");
        }
        JsonToken part;
        while ((part = p.nextToken()) != JsonToken.END_ARRAY) {
            if (part != JsonToken.START_OBJECT) {
                p.skipChildren();
                continue;
            }
            String name;
            while ((name = p.nextName()) != null) {
                JsonToken x = p.nextToken();
                if (name.equals("text") && x == JsonToken.VALUE_STRING) {
                    out.appendString(p, body, length);
                } else {
                    p.skipChildren();
                }
            }
        }
        return true;
    }

    /** Offset just past the JSON string starting with the quote at {@code start}. */
    private static int stringEnd(byte[] body, int start, int length) {
        for (int i = start + 1; i < length; i++) {
            if (body[i] == '\\') {
                i++;
            } else if (body[i] == '"') {
                return i + 1;
            }
        }
        return length;
    }
}
