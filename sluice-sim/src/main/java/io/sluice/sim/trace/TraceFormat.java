package io.sluice.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/** The trace file formats Sluice reads (docs/simulator.md, "Workloads"). */
public enum TraceFormat {
    /** Mooncake JSON Lines (Kimi, FAST'25): ms timestamps, 512-token block ids. */
    MOONCAKE,
    /** Azure LLM inference trace CSV (Splitwise, ISCA'24; also the 2024 week-long and 2025 multimodal ones). */
    AZURE,
    /** Sluice's own JSON Lines (docs/simulator.md). */
    SLUICE,
    /** Alibaba's Qwen Bailian usage traces, JSON Lines: second timestamps, 16-token block ids, chat chains. */
    BAILIAN,
    /** BurstGPT CSV (HPMLL): {@code Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type}. */
    BURSTGPT;

    private static final JsonFactory JSON = new JsonFactory();

    /**
     * Opens a trace as a stream. A file whose name ends with {@code .gz} is read through gzip.
     *
     * @param skipBad skip and count malformed lines instead of failing on the first one
     */
    public RequestStream open(Path file, boolean skipBad) {
        return switch (this) {
            case MOONCAKE -> new JsonlTraceReader(file, skipBad, JsonlTraceReader.Dialect.MOONCAKE);
            case SLUICE -> new JsonlTraceReader(file, skipBad, JsonlTraceReader.Dialect.SLUICE);
            case BAILIAN -> new JsonlTraceReader(file, skipBad, JsonlTraceReader.Dialect.BAILIAN);
            case AZURE -> new AzureCsvReader(file, skipBad);
            case BURSTGPT -> new BurstGptCsvReader(file, skipBad);
        };
    }

    /** Parses a format name ({@code mooncake}, {@code azure}, {@code sluice}, {@code bailian}, {@code burstgpt}). */
    public static TraceFormat parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown trace format '" + name
                    + "' (mooncake, azure, sluice, bailian, burstgpt)");
        }
    }

    /** Keys only Sluice's JSON Lines has (docs/simulator.md). */
    private static final Set<String> SLUICE_KEYS = Set.of("block_size", "model", "adapter", "tenant", "priority",
            "session", "slo_ttft_ms");

    /**
     * Guesses the format from the file's first non-blank line: a JSON object with {@code chat_id} is Bailian, with
     * any key only Sluice's format has ({@code block_size}, {@code session}, {@code model}, ...; or in a file named
     * {@code *sluice*}) Sluice's, else Mooncake; a CSV header starting {@code TIMESTAMP} is Azure, one starting
     * {@code Timestamp,Model} BurstGPT. Anything else goes by the name: {@code .csv} is Azure, the rest Mooncake
     * (whose reader then names the line that does not fit).
     */
    public static TraceFormat guess(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        String first = firstLine(file);
        if (first != null) {
            String line = LineTraceReader.withoutBom(first).strip();
            if (line.startsWith("{")) {
                Set<String> keys = keys(line);
                if (keys.contains("chat_id")) {
                    return BAILIAN;
                }
                return n.contains("sluice") || keys.stream().anyMatch(SLUICE_KEYS::contains) ? SLUICE : MOONCAKE;
            }
            if (line.startsWith("TIMESTAMP")) {
                return AZURE;
            }
            if (line.startsWith("Timestamp,Model")) {
                return BURSTGPT;
            }
        }
        return n.endsWith(".csv") || n.endsWith(".csv.gz") ? AZURE : n.contains("sluice") ? SLUICE : MOONCAKE;
    }

    /** The top-level keys of a JSON object line, as far as it parses (none if it does not). */
    private static Set<String> keys(String line) {
        Set<String> keys = new HashSet<>();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), line)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return keys;
            }
            String key;
            while ((key = p.nextName()) != null) {
                keys.add(key);
                p.nextToken();
                p.skipChildren();
            }
        } catch (JacksonException e) {
            // A malformed first line: the keys read so far decide; the reader will name the line.
        }
        return keys;
    }

    private static String firstLine(Path file) {
        try (BufferedReader in = LineTraceReader.reader(file)) {
            String line;
            while ((line = in.readLine()) != null) {
                if (!line.isBlank()) {
                    return line;
                }
            }
            return null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read trace " + file + ": " + LineTraceReader.describe(e), e);
        }
    }

    /** The name used on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
