package io.sluice.sim.trace;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Draws (prompt, output) length pairs: either fixed, or uniformly among the rows of a length-distribution CSV
 * ({@code num_prefill_tokens,num_decode_tokens,...}, the vidur / sarathi-serve "processed traces"), which keeps
 * the correlation between a request's prompt and output lengths.
 */
public final class LengthSampler {

    private final int[] prompts;
    private final int[] outputs;
    private final String description;

    private LengthSampler(int[] prompts, int[] outputs, String description) {
        this.prompts = prompts;
        this.outputs = outputs;
        this.description = description;
    }

    /** Always the same lengths. */
    public static LengthSampler fixed(int promptTokens, int outputTokens) {
        if (promptTokens < 1 || outputTokens < 1) {
            throw new IllegalArgumentException("lengths must be at least 1");
        }
        return new LengthSampler(new int[] {promptTokens}, new int[] {outputTokens},
                promptTokens + "/" + outputTokens + " tokens");
    }

    /**
     * Loads a length-distribution CSV: a header, then rows whose first two columns are prompt and output tokens.
     *
     * @throws TraceFormatException naming the line of a malformed row
     */
    public static LengthSampler fromCsv(Path file) {
        int[] p = new int[1024];
        int[] o = new int[1024];
        int n = 0;
        String name = file.getFileName().toString();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            long lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank() || (lineNo == 1 && !Character.isDigit(line.charAt(0)))) {
                    continue;
                }
                String[] cols = line.split(",", 3);
                if (cols.length < 2) {
                    throw new TraceFormatException(name, lineNo, "expected prompt,output token columns");
                }
                int prompt;
                int output;
                try {
                    prompt = (int) Math.round(Double.parseDouble(cols[0].strip()));
                    output = (int) Math.round(Double.parseDouble(cols[1].strip()));
                } catch (NumberFormatException e) {
                    throw new TraceFormatException(name, lineNo, "token counts must be numbers");
                }
                if (prompt < 1 || output < 1) {
                    continue;
                }
                if (n == p.length) {
                    p = Arrays.copyOf(p, n * 2);
                    o = Arrays.copyOf(o, n * 2);
                }
                p[n] = prompt;
                o[n] = output;
                n++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (n == 0) {
            throw new TraceFormatException(name, 1, "no length rows");
        }
        return new LengthSampler(Arrays.copyOf(p, n), Arrays.copyOf(o, n), name);
    }

    /** Draws a pair, packed as {@code prompt << 32 | output}. */
    long sample(RandomGenerator random) {
        int i = prompts.length == 1 ? 0 : random.nextInt(prompts.length);
        return ((long) prompts[i] << 32) | outputs[i];
    }

    /** Mean prompt length, for messages. */
    public double meanPrompt() {
        return Arrays.stream(prompts).average().orElse(0);
    }

    /** Mean output length, for messages. */
    public double meanOutput() {
        return Arrays.stream(outputs).average().orElse(0);
    }

    @Override
    public String toString() {
        return description;
    }
}
