package io.sluice.inference;

import java.nio.charset.StandardCharsets;
import net.openhft.hashing.LongHashFunction;

/**
 * Turns a prompt into chained block hashes, the shared currency of prefix caching in Sluice.
 *
 * <p>The simulator's KV cache, the replay and the router's prefix index all describe a prompt the same way: the
 * UTF-8 bytes of the prompt text are cut into blocks of {@link #BLOCK_BYTES} bytes (a 16-token KV block at the
 * usual ~4 bytes per token), and block <i>i</i>'s hash is XXH3-64 (zero-allocation-hashing, unseeded) of block
 * <i>i−1</i>'s hash XOR the XXH3-64 of block <i>i</i>'s bytes (0 before the first block). Two prompts share their
 * first <i>k</i> hashes exactly when they share their first <i>k</i> blocks of text (up to 64-bit collisions), so
 * the length of the common leading run of hashes is the reusable prefix. Only whole blocks are hashed: like vLLM's
 * prefix cache, a partial last block is never shared. The function is fixed so that hashes are stable across
 * processes and releases. Chaining through one shared unseeded function keeps it allocation-free: the library's
 * seeded functions derive a 192-byte secret per seed, which on a 220 KB prompt cost more than the hashing itself.
 */
public final class PromptHasher {

    /** Approximate UTF-8 bytes per token, used wherever Sluice counts tokens without a tokenizer. */
    public static final int BYTES_PER_TOKEN = 4;

    /** Tokens per KV-cache block (vLLM's default block size). */
    public static final int TOKENS_PER_BLOCK = 16;

    /** Prompt bytes per block. */
    public static final int BLOCK_BYTES = BYTES_PER_TOKEN * TOKENS_PER_BLOCK;

    private static final long[] NONE = new long[0];

    private static final LongHashFunction XX3 = LongHashFunction.xx3();

    private PromptHasher() {
    }

    /** The chained hashes of the whole blocks of a prompt's text. */
    public static long[] hash(String prompt) {
        return hash(prompt.getBytes(StandardCharsets.UTF_8));
    }

    /** The chained hashes of the whole blocks of UTF-8 prompt bytes. */
    public static long[] hash(byte[] utf8) {
        return hash(utf8, 0, utf8.length);
    }

    /** The chained hashes of the whole blocks of {@code length} bytes from {@code offset}. */
    public static long[] hash(byte[] utf8, int offset, int length) {
        return hash(0, utf8, offset, length);
    }

    /**
     * The chained hashes of the whole blocks of {@code length} bytes from {@code offset}, the first chained to
     * {@code previous}: the hashes that follow a prefix whose last whole block hashed to {@code previous} (0 for
     * none), without hashing that prefix again.
     */
    public static long[] hash(long previous, byte[] utf8, int offset, int length) {
        int blocks = length / BLOCK_BYTES;
        if (blocks == 0) {
            return NONE;
        }
        long[] out = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            previous = next(previous, utf8, offset + i * BLOCK_BYTES, BLOCK_BYTES);
            out[i] = previous;
        }
        return out;
    }

    /** The hash of one block chained to the previous block's hash (0 for the first block). */
    public static long next(long previous, byte[] block, int offset, int length) {
        return XX3.hashLong(previous ^ XX3.hashBytes(block, offset, length));
    }

    /** The hash of a synthetic block (from a trace's block id) chained to the previous one. */
    public static long nextSynthetic(long previous, long blockId) {
        return LongHashFunction.xx3(previous).hashLong(blockId);
    }

    /** Approximate token count of a text of this many UTF-8 bytes. */
    public static int tokensOf(int utf8Bytes) {
        return (utf8Bytes + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
    }

    /** Number of leading hashes two prompts share. */
    public static int commonPrefix(long[] a, long[] b) {
        int n = Math.min(a.length, b.length);
        int i = 0;
        while (i < n && a[i] == b[i]) {
            i++;
        }
        return i;
    }
}
