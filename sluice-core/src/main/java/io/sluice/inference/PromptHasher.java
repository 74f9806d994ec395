package io.sluice.inference;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import net.openhft.hashing.LongHashFunction;

/**
 * Turns a prompt into chained block hashes, the shared currency of prefix caching in Sluice.
 *
 * <p>The simulator's KV cache, the replay and the router's prefix index all describe a prompt the same way: the
 * UTF-8 bytes of the prompt text are cut into blocks of {@link #BLOCK_BYTES} bytes (a 16-token KV block at the
 * usual ~4 bytes per token), and block <i>i</i>'s hash is XXH3-64 of its bytes seeded with block <i>i−1</i>'s
 * hash (seed 0 for the first block). Two prompts share their first <i>k</i> hashes exactly when they share their
 * first <i>k</i> blocks of text, so the length of the common leading run of hashes is the reusable prefix. Only
 * whole blocks are hashed: like vLLM's prefix cache, a partial last block is never shared. The function is fixed
 * (XXH3-64 via zero-allocation-hashing) so that hashes are stable across processes and releases.
 *
 * <p>A whole block is hashed by {@link #block64}, XXH3-64's 17-to-128-byte path written out for 64 bytes: the
 * library's seeded hash function derives a 192-byte secret from the seed on every call (a new function object per
 * block), which cost more than the hashing itself on a 220 KB prompt. The values are the library's, bit for bit
 * (the tests compare them).
 */
public final class PromptHasher {

    /** Approximate UTF-8 bytes per token, used wherever Sluice counts tokens without a tokenizer. */
    public static final int BYTES_PER_TOKEN = 4;

    /** Tokens per KV-cache block (vLLM's default block size). */
    public static final int TOKENS_PER_BLOCK = 16;

    /** Prompt bytes per block. */
    public static final int BLOCK_BYTES = BYTES_PER_TOKEN * TOKENS_PER_BLOCK;

    private static final long[] NONE = new long[0];

    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    private static final long PRIME64_1 = 0x9E3779B185EBCA87L;
    // The first 64 bytes of XXH3's default secret (kSecret), as little-endian words.
    private static final long S0 = 0xBE4BA423396CFEB8L;
    private static final long S1 = 0x1CAD21F72C81017CL;
    private static final long S2 = 0xDB979083E96DD4DEL;
    private static final long S3 = 0x1F67B3B7A4A44072L;
    private static final long S4 = 0x78E5C0CC4EE679CBL;
    private static final long S5 = 0x2172FFCC7DD05A82L;
    private static final long S6 = 0x8E2443F7744608B8L;
    private static final long S7 = 0x4C263A81E69035E0L;

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
        int blocks = length / BLOCK_BYTES;
        if (blocks == 0) {
            return NONE;
        }
        long[] out = new long[blocks];
        long previous = 0;
        for (int i = 0; i < blocks; i++) {
            previous = next(previous, utf8, offset + i * BLOCK_BYTES, BLOCK_BYTES);
            out[i] = previous;
        }
        return out;
    }

    /** The hash of one block chained to the previous block's hash (0 for the first block). */
    public static long next(long previous, byte[] block, int offset, int length) {
        if (length == BLOCK_BYTES) {
            return block64(previous, block, offset);
        }
        return LongHashFunction.xx3(previous).hashBytes(block, offset, length);
    }

    /**
     * XXH3-64 with a seed of the 64 bytes at {@code offset}: equal to
     * {@code LongHashFunction.xx3(seed).hashBytes(bytes, offset, 64)}, without allocating.
     */
    static long block64(long seed, byte[] bytes, int offset) {
        long acc = BLOCK_BYTES * PRIME64_1;
        acc += mix16(bytes, offset + 16, S4, S5, seed);
        acc += mix16(bytes, offset + 32, S6, S7, seed);
        acc += mix16(bytes, offset, S0, S1, seed);
        acc += mix16(bytes, offset + 48, S2, S3, seed);
        acc ^= acc >>> 37;
        acc *= 0x165667919E3779F9L;
        return acc ^ (acc >>> 32);
    }

    private static long mix16(byte[] bytes, int at, long secretLo, long secretHi, long seed) {
        long a = (long) LE64.get(bytes, at) ^ (secretLo + seed);
        long b = (long) LE64.get(bytes, at + 8) ^ (secretHi - seed);
        // The 128-bit product folded to 64 bits: low ^ high, the high word unsigned.
        long high = Math.multiplyHigh(a, b) + ((a >> 63) & b) + ((b >> 63) & a);
        return (a * b) ^ high;
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
