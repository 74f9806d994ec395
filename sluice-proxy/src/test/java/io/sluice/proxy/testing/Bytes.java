package io.sluice.proxy.testing;

import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Deterministic test payloads of any size, produced and digested as streams. */
public final class Bytes {

    private Bytes() {
    }

    /** A stream of {@code size} pseudo-random bytes from a seed. */
    public static InputStream stream(long size, long seed) {
        return new InputStream() {
            private long position;

            @Override
            public int read() {
                return position < size ? at(seed, position++) & 0xFF : -1;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (position >= size) {
                    return -1;
                }
                int n = (int) Math.min(len, size - position);
                fill(seed, position, b, off, n);
                position += n;
                return n;
            }
        };
    }

    /** Byte {@code i} of the sequence for a seed: any read pattern yields the same bytes. */
    static byte at(long seed, long i) {
        return (byte) (mix(seed + (i >>> 3)) >>> ((i & 7) * 8));
    }

    /** Fills {@code b[off, off+n)} with bytes {@code position...} of the sequence. */
    public static void fill(long seed, long position, byte[] b, int off, int n) {
        for (int k = 0; k < n; k++) {
            b[off + k] = at(seed, position + k);
        }
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The SHA-256 (hex) of {@code size} bytes from a seed. */
    public static String sha256(long size, long seed) {
        try (InputStream in = stream(size, seed)) {
            return sha256(in);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** The SHA-256 (hex) of a stream, read to its end. */
    public static String sha256(InputStream in) throws java.io.IOException {
        MessageDigest d;
        try {
            d = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        byte[] buf = new byte[64 * 1024];
        int n;
        while ((n = in.read(buf)) > 0) {
            d.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(d.digest());
    }
}
