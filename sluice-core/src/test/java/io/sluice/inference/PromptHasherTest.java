package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

class PromptHasherTest {

    @Test
    void blockHashIsTheLibrarysSeededXxh3BitForBit() {
        SplittableRandom random = new SplittableRandom(42);
        byte[] bytes = new byte[4096];
        for (int i = 0; i < 20_000; i++) {
            random.nextBytes(bytes);
            long seed = i % 4 == 0 ? 0 : i % 4 == 1 ? -1 : random.nextLong();
            int offset = random.nextInt(bytes.length - 64);
            assertThat(PromptHasher.block64(seed, bytes, offset))
                    .isEqualTo(LongHashFunction.xx3(seed).hashBytes(bytes, offset, 64));
        }
    }

    @Test
    void chainedHashesMatchTheDefinition() {
        byte[] text = "the quick brown fox jumps over the lazy dog ".repeat(40).getBytes(StandardCharsets.UTF_8);
        long[] hashes = PromptHasher.hash(text);
        assertThat(hashes).hasSize(text.length / 64);
        long previous = 0;
        for (int i = 0; i < hashes.length; i++) {
            previous = LongHashFunction.xx3(previous).hashBytes(text, i * 64, 64);
            assertThat(hashes[i]).isEqualTo(previous);
        }
    }

    @Test
    void promptsShareExactlyTheirCommonWholeBlocks() {
        String system = "s".repeat(64 * 5);
        long[] a = PromptHasher.hash(system + "a".repeat(200));
        long[] b = PromptHasher.hash(system + "b".repeat(200));
        assertThat(PromptHasher.commonPrefix(a, b)).isEqualTo(5);
        assertThat(PromptHasher.hash("short")).isEmpty();
        assertThat(PromptHasher.next(7, "odd".getBytes(StandardCharsets.UTF_8), 0, 3))
                .isEqualTo(LongHashFunction.xx3(7).hashBytes("odd".getBytes(StandardCharsets.UTF_8)));
    }
}
