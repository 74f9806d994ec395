package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

class HashKeysTest {

    @Test
    void isXxh3SeedZeroOfUtf8Bytes() {
        // XXH3_64bits("") from the reference implementation.
        assertThat(HashKeys.of("")).isEqualTo(0x2D06800538D394C2L);
        assertThat(HashKeys.of(new byte[0])).isEqualTo(0x2D06800538D394C2L);
        SplittableRandom random = new SplittableRandom(1);
        // Every XXH3 length class: 1-3, 4-8, 9-16, 17-128, 129-240, long inputs.
        for (int length = 0; length <= 1_100; length++) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < length; i++) {
                sb.append((char) (' ' + random.nextInt(95)));
            }
            String text = sb.toString();
            long expected = LongHashFunction.xx3().hashBytes(text.getBytes(StandardCharsets.UTF_8));
            assertThat(HashKeys.of(text)).as("length %d", length).isEqualTo(expected);
            assertThat(HashKeys.of(new StringBuilder(text))).isEqualTo(expected);
        }
    }

    @Test
    void nonAsciiTextHashesItsUtf8Encoding() {
        String text = "utilisateur-é-東京";
        assertThat(HashKeys.of(text))
                .isEqualTo(LongHashFunction.xx3().hashBytes(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void asciiKeysAllocateNothing() {
        String[] values = {"user-1234", "a-session-id-that-is-rather-long-0123456789", "x"};
        long sink = 0;
        for (int i = 0; i < 100_000; i++) {
            sink += HashKeys.of(values[i % 3]);
        }
        com.sun.management.ThreadMXBean threads =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long calibrate = threads.getCurrentThreadAllocatedBytes();
        long overhead = threads.getCurrentThreadAllocatedBytes() - calibrate;
        long before = threads.getCurrentThreadAllocatedBytes();
        for (int i = 0; i < 10_000; i++) {
            sink += HashKeys.of(values[i % 3]);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before - overhead;
        assertThat(allocated).isLessThan(Fixtures.STRAY_ALLOCATION_BYTES);
        assertThat(sink).isNotZero();
    }

    @Test
    void bucketIsUniformAndInRange() {
        int[] counts = new int[7];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 70_000; i++) {
            counts[HashKeys.bucket(random.nextLong(), 7)]++;
        }
        for (int c : counts) {
            assertThat(c).isBetween(9_500, 10_500);
        }
        assertThat(HashKeys.bucket(-1L, 65537)).isEqualTo(65536);
        assertThat(HashKeys.bucket(0L, 65537)).isZero();
    }
}
