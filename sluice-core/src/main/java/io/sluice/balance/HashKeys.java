package io.sluice.balance;

import io.sluice.endpoint.Address;
import java.net.InetAddress;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import net.openhft.hashing.Access;
import net.openhft.hashing.LongHashFunction;

/**
 * The one hash function behind every hash policy, sticky session and endpoint position in Sluice.
 *
 * <p>A request's key is <b>XXH3-64 with seed 0 of the UTF-8 bytes</b> of its {@code hash_on} value (the header,
 * cookie or query parameter value as received, without decoding), or of the client address's raw bytes for
 * {@code client-ip} (4 bytes for IPv4, 16 for IPv6, an IPv4-mapped IPv6 address counting as its IPv4 form).
 * Endpoint positions on rings and Maglev tables are XXH3-64 of the endpoint's address as written
 * ({@link Address#toString()}), so they do not depend on the order endpoints are listed in or on a restart. The
 * function and these derivations are part of Sluice's contract: they stay the same across releases, so that the
 * proxy and the replay, and two Sluice instances side by side, send the same key to the same endpoint.
 *
 * <p>XXH3 comes from zero-allocation-hashing; ASCII values (nearly all header and cookie values) are hashed in
 * place without copying them to a byte array.
 */
public final class HashKeys {

    private static final LongHashFunction XXH3 = LongHashFunction.xx3();
    private static final LongHashFunction XXH3_SEED_1 = LongHashFunction.xx3(1);

    private HashKeys() {
    }

    /** The key of a text value: XXH3-64 (seed 0) of its UTF-8 bytes. Allocation-free for ASCII text. */
    public static long of(CharSequence value) {
        int n = value.length();
        for (int i = 0; i < n; i++) {
            if (value.charAt(i) >= 0x80) {
                return of(value.toString().getBytes(StandardCharsets.UTF_8));
            }
        }
        return XXH3.hash(value, AsciiAccess.INSTANCE, 0, n);
    }

    /** The key of raw bytes: XXH3-64 (seed 0). */
    public static long of(byte[] bytes) {
        return XXH3.hashBytes(bytes);
    }

    /** The key of {@code length} bytes from {@code offset}: XXH3-64 (seed 0). */
    public static long of(byte[] bytes, int offset, int length) {
        return XXH3.hashBytes(bytes, offset, length);
    }

    /** The key of a client address for {@code hash_on: client-ip}: XXH3-64 (seed 0) of its raw bytes. */
    public static long ofClientIp(InetAddress address) {
        return ofClientIp(address.getAddress());
    }

    /**
     * The key of a client address given as raw bytes (4 or 16); an IPv4-mapped IPv6 address ({@code ::ffff:a.b.c.d})
     * hashes as its IPv4 form, so dual-stack sockets do not change a client's key.
     */
    public static long ofClientIp(byte[] raw) {
        if (raw.length == 16 && isIpv4Mapped(raw)) {
            return XXH3.hashBytes(raw, 12, 4);
        }
        return XXH3.hashBytes(raw);
    }

    private static boolean isIpv4Mapped(byte[] raw) {
        for (int i = 0; i < 10; i++) {
            if (raw[i] != 0) {
                return false;
            }
        }
        return raw[10] == (byte) 0xff && raw[11] == (byte) 0xff;
    }

    /** An endpoint's primary position: XXH3-64 (seed 0) of its address as written. */
    static long position(Address address) {
        return of(address.toString());
    }

    /** An endpoint's secondary position (Maglev's skip): XXH3-64 with seed 1 of its address as written. */
    static long secondaryPosition(Address address) {
        return XXH3_SEED_1.hashBytes(address.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** XXH3-64 with an explicit seed, for derived ids (sticky cookies). */
    static long seeded(long seed, CharSequence value) {
        return LongHashFunction.xx3(seed).hashBytes(value.toString().getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Maps a 64-bit key onto {@code [0, n)} by multiply-shift of its high 32 bits (Lemire's fast range), which is
     * uniform for a uniform key and much cheaper than a 64-bit remainder.
     */
    static int bucket(long key, int n) {
        return (int) (((key >>> 32) * n) >>> 32);
    }

    /** The next key in a deterministic sequence (SplitMix64's finaliser), for re-hashing after a miss. */
    static long rehash(long key) {
        long z = key + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Reads an ASCII char sequence as its bytes (one per char), little-endian, for XXH3 without a copy. */
    private static final class AsciiAccess extends Access<CharSequence> {
        static final AsciiAccess INSTANCE = new AsciiAccess();

        @Override
        public long getLong(CharSequence input, long offset) {
            int i = (int) offset;
            return (input.charAt(i) & 0xffL)
                    | (input.charAt(i + 1) & 0xffL) << 8
                    | (input.charAt(i + 2) & 0xffL) << 16
                    | (input.charAt(i + 3) & 0xffL) << 24
                    | (input.charAt(i + 4) & 0xffL) << 32
                    | (input.charAt(i + 5) & 0xffL) << 40
                    | (input.charAt(i + 6) & 0xffL) << 48
                    | (input.charAt(i + 7) & 0xffL) << 56;
        }

        @Override
        public long getUnsignedInt(CharSequence input, long offset) {
            return getInt(input, offset) & 0xffffffffL;
        }

        @Override
        public int getInt(CharSequence input, long offset) {
            int i = (int) offset;
            return (input.charAt(i) & 0xff)
                    | (input.charAt(i + 1) & 0xff) << 8
                    | (input.charAt(i + 2) & 0xff) << 16
                    | (input.charAt(i + 3) & 0xff) << 24;
        }

        @Override
        public int getUnsignedShort(CharSequence input, long offset) {
            int i = (int) offset;
            return (input.charAt(i) & 0xff) | (input.charAt(i + 1) & 0xff) << 8;
        }

        @Override
        public int getShort(CharSequence input, long offset) {
            return (short) getUnsignedShort(input, offset);
        }

        @Override
        public int getUnsignedByte(CharSequence input, long offset) {
            return input.charAt((int) offset) & 0xff;
        }

        @Override
        public int getByte(CharSequence input, long offset) {
            return (byte) input.charAt((int) offset);
        }

        @Override
        public ByteOrder byteOrder(CharSequence input) {
            return ByteOrder.LITTLE_ENDIAN;
        }

        @Override
        protected Access<CharSequence> reverseAccess() {
            throw new UnsupportedOperationException("little-endian only");
        }
    }
}
