package io.sluice.sim.trace;

import java.nio.file.Path;
import java.util.Locale;

/** The trace file formats Sluice reads. */
public enum TraceFormat {
    /** Mooncake JSON Lines (Kimi, FAST'25). */
    MOONCAKE,
    /** Azure LLM inference trace CSV (Splitwise, ISCA'24). */
    AZURE,
    /** Sluice's own JSON Lines (docs/simulator.md). */
    SLUICE;

    /**
     * Opens a trace as a stream.
     *
     * @param skipBad skip and count malformed lines instead of failing on the first one
     */
    public RequestStream open(Path file, boolean skipBad) {
        return switch (this) {
            case MOONCAKE -> new JsonlTraceReader(file, skipBad, false);
            case SLUICE -> new JsonlTraceReader(file, skipBad, true);
            case AZURE -> new AzureCsvReader(file, skipBad);
        };
    }

    /** Parses a format name ({@code mooncake}, {@code azure}, {@code sluice}). */
    public static TraceFormat parse(String name) {
        try {
            return valueOf(name.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown trace format '" + name + "' (mooncake, azure, sluice)");
        }
    }

    /** Guesses the format from the file name: {@code .csv} is Azure, {@code .jsonl} Mooncake. */
    public static TraceFormat guess(Path file) {
        String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".csv") ? AZURE : n.contains("sluice") ? SLUICE : MOONCAKE;
    }

    /** The name used on the command line. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
