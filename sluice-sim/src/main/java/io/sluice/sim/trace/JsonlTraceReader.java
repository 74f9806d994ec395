package io.sluice.sim.trace;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * Reads JSON Lines traces: Mooncake's ({@code timestamp} in ms, {@code input_length}, {@code output_length},
 * {@code hash_ids} of 512-token blocks; other keys ignored) and Sluice's own, a strict superset documented in
 * docs/simulator.md ({@code block_size}, {@code model}, {@code adapter}, {@code tenant}, {@code priority},
 * {@code session}, {@code slo_ttft_ms}; unknown keys are errors, so that a typo does not silently change a run).
 *
 * <p>Each line is read with Jackson's streaming parser, which allocates little beyond the request itself.
 * Arrival times are made relative to the first request.
 */
final class JsonlTraceReader extends LineTraceReader {

    private static final JsonFactory JSON = new JsonFactory();
    private static final long[] NONE = new long[0];

    private final boolean strict;
    private final int defaultBlockTokens;
    private long firstMillisNanos = Long.MIN_VALUE;
    private long[] idBuffer = new long[256];

    JsonlTraceReader(Path file, boolean skipBad, boolean sluiceFormat) {
        super(file, skipBad);
        this.strict = sluiceFormat;
        this.defaultBlockTokens = sluiceFormat ? 16 : 512;
    }

    @Override
    TraceRequest parse(String line) {
        double timestamp = Double.NaN;
        int input = -1;
        int output = -1;
        long[] ids = NONE;
        int blockTokens = defaultBlockTokens;
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
        if (output < 1) {
            throw new IllegalArgumentException(output < 0 ? "output_length is missing"
                    : "output_length must be >= 1");
        }
        if (blockTokens <= 0 || blockTokens % 16 != 0) {
            throw new IllegalArgumentException("block_size " + blockTokens + " is not a multiple of 16");
        }
        long nanos = Math.round(timestamp * 1e6);
        if (firstMillisNanos == Long.MIN_VALUE) {
            firstMillisNanos = nanos;
        }
        return new TraceRequest(nanos - firstMillisNanos, input, output, ids, blockTokens,
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
