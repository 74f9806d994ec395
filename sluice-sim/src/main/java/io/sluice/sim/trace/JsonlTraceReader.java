package io.sluice.sim.trace;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads JSON Lines traces, in three dialects ({@link Dialect}):
 * <ul>
 *   <li>Mooncake's: {@code timestamp} in ms, {@code input_length}, {@code output_length}, {@code hash_ids} of
 *       512-token blocks; other keys ignored.</li>
 *   <li>Sluice's own, a strict superset documented in docs/simulator.md ({@code block_size}, {@code model},
 *       {@code adapter}, {@code tenant}, {@code priority}, {@code session}, {@code slo_ttft_ms}; unknown keys are
 *       errors, so that a typo does not silently change a run).</li>
 *   <li>Alibaba's Qwen Bailian usage traces: {@code timestamp} in <em>seconds</em>, {@code hash_ids} of 16-token
 *       blocks (each block's content hashed on its own; {@link TraceRequest#blockHashes()} chains them, so equal
 *       ids count as a shared prefix only when every id before them is equal too, as in a real prefix cache), and
 *       {@code chat_id} / {@code parent_chat_id} (-1 for a first turn) linking the turns of a conversation: every
 *       turn's session is the id of its conversation's first turn, so session-affinity scorers see
 *       conversations. {@code type} and {@code turn} are ignored. An {@code output_length} of 0 is replayed as one
 *       token.</li>
 * </ul>
 *
 * <p>Each line is read with Jackson's streaming parser, which allocates little beyond the request itself.
 * Arrival times are made relative to the first request.
 */
final class JsonlTraceReader extends LineTraceReader {

    private static final JsonFactory JSON = new JsonFactory();
    private static final long[] NONE = new long[0];

    /** Chat ids remembered for Bailian's turn chains; a turn whose parent was forgotten is filed under that id. */
    static final int MAX_CHATS = 1 << 18;

    /** The JSON Lines dialects. */
    enum Dialect {
        MOONCAKE(512, 1e6),
        SLUICE(16, 1e6),
        BAILIAN(16, 1e9);

        final int blockTokens;
        final double nanosPerUnit;

        Dialect(int blockTokens, double nanosPerUnit) {
            this.blockTokens = blockTokens;
            this.nanosPerUnit = nanosPerUnit;
        }
    }

    private final Dialect dialect;
    private final boolean strict;
    private long firstNanos = Long.MIN_VALUE;
    private long[] idBuffer = new long[256];
    /** Bailian: each chat id's conversation (the chat id of its first turn), least recently used first out. */
    private final LinkedHashMap<String, String> conversations = new LinkedHashMap<>(1024, 0.75f, true) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_CHATS;
        }
    };

    JsonlTraceReader(Path file, boolean skipBad, Dialect dialect) {
        super(file, skipBad);
        this.dialect = dialect;
        this.strict = dialect == Dialect.SLUICE;
    }

    @Override
    TraceRequest parse(String line) {
        double timestamp = Double.NaN;
        int input = -1;
        int output = -1;
        long[] ids = NONE;
        int blockTokens = dialect.blockTokens;
        String chat = null;
        String parent = null;
        String model = null;
        String adapter = null;
        String tenant = "";
        int priority = 0;
        String session = null;
        long slo = 0;
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new IllegalArgumentException("not a JSON object");
            }
            String key;
            while ((key = p.nextName()) != null) {
                JsonToken t = p.nextToken();
                switch (key) {
                    case "timestamp" -> timestamp = number(p, t, key);
                    case "input_length" -> input = count(p, t, key);
                    case "output_length" -> output = count(p, t, key);
                    case "hash_ids" -> ids = ids(p, t);
                    default -> {
                        if (dialect == Dialect.BAILIAN && key.equals("chat_id")) {
                            chat = ident(p, t, key);
                            continue;
                        }
                        if (dialect == Dialect.BAILIAN && key.equals("parent_chat_id")) {
                            parent = ident(p, t, key);
                            continue;
                        }
                        if (!strict) {
                            p.skipChildren();
                            continue;
                        }
                        switch (key) {
                            case "block_size" -> blockTokens = count(p, t, key);
                            case "model" -> model = text(p, t, key);
                            case "adapter" -> adapter = text(p, t, key);
                            case "tenant" -> tenant = text(p, t, key);
                            case "priority" -> priority = (int) number(p, t, key);
                            case "session" -> session = text(p, t, key);
                            case "slo_ttft_ms" -> slo = (long) number(p, t, key);
                            default -> throw new IllegalArgumentException("unknown key '" + key + "'");
                        }
                    }
                }
            }
        } catch (JacksonException e) {
            throw new IllegalArgumentException("invalid JSON: " + e.getOriginalMessage());
        }
        if (Double.isNaN(timestamp)) {
            throw new IllegalArgumentException("timestamp is missing");
        }
        if (input < 1) {
            throw new IllegalArgumentException(input < 0 ? "input_length is missing" : "input_length must be >= 1");
        }
        if (output == 0 && dialect == Dialect.BAILIAN) {
            output = 1;
        }
        if (output < 1) {
            throw new IllegalArgumentException(output < 0 ? "output_length is missing"
                    : "output_length must be >= 1");
        }
        if (dialect == Dialect.BAILIAN) {
            if (chat == null) {
                throw new IllegalArgumentException("chat_id is missing");
            }
            boolean first = parent == null || parent.isEmpty() || parent.equals("-1");
            String conversation = first ? chat : conversations.getOrDefault(parent, parent);
            conversations.put(chat, conversation);
            session = "chat-" + conversation;
        }
        if (blockTokens <= 0 || blockTokens % 16 != 0) {
            throw new IllegalArgumentException("block_size " + blockTokens + " is not a multiple of 16");
        }
        long nanos = nanos(timestamp, dialect.nanosPerUnit, "timestamp");
        if (firstNanos == Long.MIN_VALUE) {
            firstNanos = nanos;
        }
        return new TraceRequest(nanos - firstNanos, input, output, ids, blockTokens,
                Optional.ofNullable(model), Optional.ofNullable(adapter), tenant, priority,
                Optional.ofNullable(session), slo, false);
    }

    private static double number(JsonParser p, JsonToken t, String key) {
        if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
            throw new IllegalArgumentException(key + " must be a number");
        }
        double v = p.getDoubleValue();
        if (!(v >= 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(key + " must be a non-negative number");
        }
        return v;
    }

    /** An identifier given as a whole number or a string; JSON null is none. */
    private static String ident(JsonParser p, JsonToken t, String key) {
        if (t == JsonToken.VALUE_NULL) {
            return null;
        }
        if (t == JsonToken.VALUE_NUMBER_INT) {
            return Long.toString(p.getLongValue());
        }
        if (t == JsonToken.VALUE_STRING) {
            return p.getString();
        }
        throw new IllegalArgumentException(key + " must be a whole number or a string");
    }

    private static int count(JsonParser p, JsonToken t, String key) {
        if (t != JsonToken.VALUE_NUMBER_INT) {
            throw new IllegalArgumentException(key + " must be a whole number");
        }
        long v = p.getLongValue();
        if (v < 0 || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(key + " is out of range: " + v);
        }
        return (int) v;
    }

    private static String text(JsonParser p, JsonToken t, String key) {
        if (t != JsonToken.VALUE_STRING) {
            throw new IllegalArgumentException(key + " must be a string");
        }
        return p.getString();
    }

    private long[] ids(JsonParser p, JsonToken t) {
        if (t != JsonToken.START_ARRAY) {
            throw new IllegalArgumentException("hash_ids must be an array of integers");
        }
        int n = 0;
        JsonToken e;
        while ((e = p.nextToken()) != JsonToken.END_ARRAY) {
            if (e != JsonToken.VALUE_NUMBER_INT) {
                throw new IllegalArgumentException("hash_ids must be an array of integers");
            }
            if (n == idBuffer.length) {
                idBuffer = Arrays.copyOf(idBuffer, n * 2);
            }
            idBuffer[n++] = p.getLongValue();
        }
        return n == 0 ? NONE : Arrays.copyOf(idBuffer, n);
    }
}
