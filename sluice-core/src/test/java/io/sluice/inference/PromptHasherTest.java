package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import net.openhft.hashing.LongHashFunction;
import org.junit.jupiter.api.Test;

class PromptHasherTest {

    @Test
    void chainedHashesMatchTheDefinition() {
        byte[] text = "the quick brown fox jumps over the lazy dog ".repeat(40).getBytes(StandardCharsets.UTF_8);
        long[] hashes = PromptHasher.hash(text);
        assertThat(hashes).hasSize(text.length / 64);
        LongHashFunction xx3 = LongHashFunction.xx3();
        long previous = 0;
        for (int i = 0; i < hashes.length; i++) {
            previous = xx3.hashLong(previous ^ xx3.hashBytes(text, i * 64, 64));
            assertThat(hashes[i]).isEqualTo(previous);
        }
    }

    @Test
    void hashingOnFromAPrefixsLastBlockEqualsHashingTheWhole() {
        byte[] text = "continue the chain from here ".repeat(30).getBytes(StandardCharsets.UTF_8);
        long[] whole = PromptHasher.hash(text);
        long[] head = PromptHasher.hash(text, 0, 5 * 64);
        long[] rest = PromptHasher.hash(head[4], text, 5 * 64, text.length - 5 * 64);
        assertThat(head.length + rest.length).isEqualTo(whole.length);
        assertThat(rest).containsExactly(java.util.Arrays.copyOfRange(whole, 5, whole.length));
        assertThat(PromptHasher.hash(0, text, 0, text.length)).containsExactly(whole);
    }

    @Test
    void promptsShareExactlyTheirCommonWholeBlocks() {
        String system = "s".repeat(64 * 5);
        long[] a = PromptHasher.hash(system + "a".repeat(200));
        long[] b = PromptHasher.hash(system + "b".repeat(200));
        assertThat(PromptHasher.commonPrefix(a, b)).isEqualTo(5);
        assertThat(PromptHasher.hash("short")).isEmpty();
    }

    @Test
    void aBlockHashesDifferentlyAfterADifferentPrefix() {
        String block = "x".repeat(64);
        long[] a = PromptHasher.hash("a".repeat(64) + block + block);
        long[] b = PromptHasher.hash("b".repeat(64) + block + block);
        // Same text in blocks 1 and 2, different block 0: no hash is shared, and a repeated block differs by place.
        assertThat(PromptHasher.commonPrefix(a, b)).isZero();
        assertThat(a[1]).isNotEqualTo(b[1]).isNotEqualTo(a[2]);
        assertThat(b[2]).isNotEqualTo(a[2]);
    }
}
