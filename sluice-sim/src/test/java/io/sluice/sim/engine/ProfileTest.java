package io.sluice.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProfileTest {

    @Test
    void parsesGpuModelAndTensorParallelism() {
        Profile p = Profile.of("h100-qwen3-32b-tp2");
        assertThat(p.gpu().name()).isEqualTo("h100");
        assertThat(p.model().name()).isEqualTo("qwen3-32b");
        assertThat(p.tensorParallel()).isEqualTo(2);
        assertThat(p.maxNumSeqs()).isEqualTo(1024);
        assertThat(Profile.of("a100-80g-llama3-8b").maxNumBatchedTokens()).isEqualTo(2048);
    }

    @Test
    void kvCapacityFollowsFromMemoryLeftAfterWeights() {
        // 0.9 x 80 GiB - 16.06 GB weights - 2 GiB reserve, at 128 KiB per token: about 452k tokens.
        assertThat(Profile.of("a100-80g-llama3-8b").kvTokens()).isBetween(445_000L, 465_000L);
        assertThat(Profile.of("h100-qwen3-32b-tp2").kvTokens()).isGreaterThan(
                Profile.of("h100-qwen3-32b").kvTokens() * 3);
    }

    @Test
    void rejectsUnknownNamesAndModelsThatDoNotFit() {
        assertThatThrownBy(() -> Profile.of("v100-llama3-8b")).hasMessageContaining("unknown GPU");
        assertThatThrownBy(() -> Profile.of("h100-gpt5")).hasMessageContaining("unknown model");
        assertThatThrownBy(() -> Profile.of("h100-llama3-70b")).hasMessageContaining("does not fit");
        assertThatThrownBy(() -> Profile.of("h100-llama3-8b-tp3")).hasMessageContaining("1, 2, 4 or 8");
    }

    @Test
    void decodeIterationAtBatchOneIsBoundByWeightBandwidth() {
        CostModel a100 = new CostModel(Profile.of("a100-80g-llama3-8b"));
        double ms = a100.iterationNanos(1, 1, 1000, 1000) / 1e6;
        // 16.06 GB / (2,039 GB/s x 0.8) + 0.4 ms overhead
        assertThat(ms).isBetween(10.0, 11.0);
        CostModel h100 = new CostModel(Profile.of("h100-llama3-8b"));
        assertThat(h100.iterationNanos(1, 1, 1000, 1000) / 1e6).isBetween(6.0, 7.0);
    }

    @Test
    void prefillIsComputeBound() {
        CostModel a100 = new CostModel(Profile.of("a100-80g-llama3-8b"));
        double oneChunk = a100.iterationNanos(2048, 1, 2048.0 * 2049 / 2, 2048);
        double twoChunks = a100.iterationNanos(4096, 1, 4096.0 * 4097 / 2, 4096);
        assertThat(twoChunks / oneChunk).isBetween(1.9, 2.6);
    }

    @Test
    void instantProfileHasNoComputeTimeButRealLimits() {
        Profile p = Profile.of(Profile.INSTANT);
        assertThat(p.name()).isEqualTo("instant");
        assertThat(p.model().name()).isEqualTo("llama3-8b");
        assertThat(p.kvBlocks()).isEqualTo(Profile.INSTANT_KV_BLOCKS);
        // 150 prompts of 55,000 tokens (220 KB) fit in one replica's cache, and one prefills in one iteration.
        assertThat(p.kvTokens()).isGreaterThan(150L * 55_000);
        assertThat(p.maxNumBatchedTokens()).isGreaterThanOrEqualTo(55_000);
        CostModel cost = new CostModel(p);
        assertThat(cost.iterationNanos(55_000, 1, 55_000.0 * 55_001 / 2, 55_000)).isLessThan(1.0);
        assertThat(cost.iterationNanos(1024, 1024, 1024 * 60_000.0, 1024 * 60_000.0)).isLessThan(1.0);
        assertThatThrownBy(() -> Profile.of("instant-llama3-8b")).hasMessageContaining("instant");
    }
}
