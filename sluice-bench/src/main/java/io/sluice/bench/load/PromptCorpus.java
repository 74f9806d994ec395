package io.sluice.bench.load;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * Request bodies for the TTFT load: OpenAI chat completions whose prompts share long prefixes, as agent and RAG
 * traffic does, and are all distinct.
 *
 * <p>A body is {@code {"model":..,"stream":true,"max_tokens":..,"messages":[system, user]}}. The system message is
 * one of {@code prefixes} fixed texts of {@code prefixShare × promptBytes} bytes (so requests of the same group
 * share their first blocks); the user message starts with the request number and continues with a slice of a
 * large random text at a random offset, so no two prompts are equal. Texts are lower-case words and spaces (no JSON
 * escaping). A body is a composite of shared buffers: building one costs a few allocations, not a 220 KB copy, so
 * the client's CPU goes to sending, not to making prompts.
 */
public final class PromptCorpus {

    private static final String[] WORDS = ("the of and to in is that for it as with was on be by this are or from "
            + "at an which but not have has had were can all their will one there been more other when about into "
            + "data model token cache request server latency queue prefix router engine batch memory block stream "
            + "policy endpoint metric kernel tensor layer weight attention decode prefill schedule replica gateway")
            .split(" ");

    private final byte[][] systemPrompts;
    private final byte[] text;
    private final int userBytes;
    private final byte[] head;
    private final byte[] middle;
    private final byte[] tail;
    private final SplittableRandom random;

    /**
     * Makes the texts.
     *
     * @param model       the model name sent
     * @param promptBytes bytes of prompt text per request (system plus user content)
     * @param prefixShare fraction of the prompt that is the shared system message, within [0, 1)
     * @param prefixes    distinct system messages
     * @param maxTokens   {@code max_tokens} of every request
     * @param seed        seed of the texts and offsets
     */
    public PromptCorpus(String model, int promptBytes, double prefixShare, int prefixes, int maxTokens, long seed) {
        if (promptBytes < 64) {
            throw new IllegalArgumentException("prompt bytes must be at least 64: " + promptBytes);
        }
        if (!(prefixShare >= 0 && prefixShare < 1)) {
            throw new IllegalArgumentException("prefix share must be within [0, 1): " + prefixShare);
        }
        if (prefixes < 1) {
            throw new IllegalArgumentException("prefixes must be at least 1: " + prefixes);
        }
        if (model.indexOf('"') >= 0 || model.indexOf('\\') >= 0) {
            throw new IllegalArgumentException("model name must not need JSON escaping: " + model);
        }
        this.random = new SplittableRandom(seed);
        int systemBytes = (int) (promptBytes * prefixShare);
        this.userBytes = promptBytes - systemBytes;
        this.systemPrompts = new byte[prefixes][];
        for (int i = 0; i < prefixes; i++) {
            systemPrompts[i] = words(systemBytes, random);
        }
        this.text = words(Math.max(4 * userBytes, 1 << 20), random);
        this.head = ascii("{\"model\":\"" + model + "\",\"stream\":true,\"max_tokens\":" + maxTokens
                + ",\"messages\":[{\"role\":\"system\",\"content\":\"");
        this.middle = ascii("\"},{\"role\":\"user\",\"content\":\"");
        this.tail = ascii("\"}]}");
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] words(int bytes, SplittableRandom random) {
        byte[] out = new byte[bytes];
        int at = 0;
        while (at < bytes) {
            String w = WORDS[random.nextInt(WORDS.length)];
            for (int i = 0; i < w.length() && at < bytes; i++) {
                out[at++] = (byte) w.charAt(i);
            }
            if (at < bytes) {
                out[at++] = ' ';
            }
        }
        return out;
    }

    /** Number of distinct system messages. */
    public int prefixes() {
        return systemPrompts.length;
    }

    /**
     * The body of request {@code n}: system message {@code n mod prefixes}, a unique user message. Not
     * thread-safe (one random source).
     */
    public ByteBuf body(long n) {
        byte[] tag = ascii("request " + n + ": ");
        int slice = Math.max(0, userBytes - tag.length);
        int offset = random.nextInt(text.length - slice + 1);
        CompositeByteBuf body = Unpooled.compositeBuffer(6);
        body.addComponents(true, Unpooled.wrappedBuffer(head),
                Unpooled.wrappedBuffer(systemPrompts[(int) (n % systemPrompts.length)]), Unpooled.wrappedBuffer(middle),
                Unpooled.wrappedBuffer(tag, 0, Math.min(tag.length, userBytes)),
                Unpooled.wrappedBuffer(text, offset, slice), Unpooled.wrappedBuffer(tail));
        return body;
    }
}
