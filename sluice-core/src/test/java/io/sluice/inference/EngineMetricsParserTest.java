package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.sluice.config.InferenceConfig.Engine;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class EngineMetricsParserTest {

    private static String page(String name) throws IOException {
        try (InputStream in = EngineMetricsParserTest.class.getResourceAsStream("metrics/" + name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void vllmCurrentNamesWinOverDeprecatedOnes() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(page("vllm.txt"), 42);
        assertThat(m.waiting()).isEqualTo(4);
        assertThat(m.running()).isEqualTo(37);
        // kv_cache_usage_perc is 0.6125; the deprecated gpu_cache_usage_perc (0.9) on the same page is ignored.
        assertThat(m.kvCacheUsage()).isCloseTo(0.6125, within(1e-9));
        assertThat(m.kvCacheBlocks()).isEqualTo(29856);
        assertThat(m.blockSizeTokens()).isEqualTo(16);
        assertThat(m.scrapedAtNanos()).isEqualTo(42);
    }

    @Test
    void vllmLoraInfoTakesTheNewestSeries() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(page("vllm.txt"), 0);
        assertThat(m.runningAdapters()).containsExactlyInAnyOrder("sql-lora", "chat-lora");
        assertThat(m.maxAdapters()).isEqualTo(4);
    }

    @Test
    void vllmV0UsesDeprecatedKvNameAndCountsSwappedAsWaiting() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(page("vllm-v0.txt"), 0);
        assertThat(m.waiting()).isEqualTo(5);
        assertThat(m.running()).isEqualTo(12);
        assertThat(m.kvCacheUsage()).isCloseTo(0.873, within(1e-9));
        assertThat(m.kvCacheBlocks()).isZero();
        assertThat(m.runningAdapters()).isEmpty();
    }

    @Test
    void vllmDataParallelEnginesAreSummedAndKvAveraged() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(page("vllm-dp.txt"), 0);
        assertThat(m.running()).isEqualTo(16);
        assertThat(m.waiting()).isEqualTo(1);
        assertThat(m.kvCacheUsage()).isCloseTo(0.4, within(1e-9));
        assertThat(m.kvCacheBlocks()).isEqualTo(20000);
    }

    @Test
    void sglang() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.SGLANG).parse(page("sglang.txt"), 0);
        assertThat(m.waiting()).isEqualTo(2826);
        assertThat(m.running()).isEqualTo(162);
        assertThat(m.kvCacheUsage()).isCloseTo(0.28, within(1e-9));
        // Capacity in tokens (page size 1) from max_total_num_tokens.
        assertThat(m.kvCacheBlocks() * m.blockSizeTokens()).isEqualTo(161721);
    }

    @Test
    void sglangCacheConfigInfoWinsOverMaxTokens() {
        String text = "sglang:num_queue_reqs 1\nsglang:num_running_reqs 2\nsglang:token_usage 0.5\n"
                + "sglang:max_total_num_tokens 1000\n"
                + "sglang:cache_config_info{num_pages=\"4096\",page_size=\"16\"} 1\n";
        ServerMetrics m = EngineMetricsParser.of(Engine.SGLANG).parse(text, 0);
        assertThat(m.kvCacheBlocks()).isEqualTo(4096);
        assertThat(m.blockSizeTokens()).isEqualTo(16);
    }

    @Test
    void tgiHasQueueAndBatchButNoKv() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.TGI).parse(page("tgi.txt"), 0);
        assertThat(m.waiting()).isEqualTo(7);
        assertThat(m.running()).isEqualTo(24);
        assertThat(m.kvCacheUsage()).isZero();
    }

    @Test
    void tritonTensorRtLlm() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.TRITON).parse(page("triton.txt"), 0);
        assertThat(m.waiting()).isEqualTo(3);
        assertThat(m.running()).isEqualTo(9);
        assertThat(m.kvCacheUsage()).isCloseTo(0.25, within(1e-9));
        assertThat(m.kvCacheBlocks()).isEqualTo(6240);
        assertThat(m.blockSizeTokens()).isEqualTo(64);
    }

    @Test
    void olderTritonDerivesWaitingAndKvFraction() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.TRITON).parse(page("triton-old.txt"), 0);
        assertThat(m.waiting()).isEqualTo(2);
        assertThat(m.running()).isEqualTo(5);
        assertThat(m.kvCacheUsage()).isCloseTo(0.5, within(1e-9));
    }

    @Test
    void llamacpp() throws IOException {
        ServerMetrics m = EngineMetricsParser.of(Engine.LLAMACPP).parse(page("llamacpp.txt"), 0);
        assertThat(m.waiting()).isEqualTo(1);
        assertThat(m.running()).isEqualTo(2);
        assertThat(m.kvCacheUsage()).isCloseTo(0.42, within(1e-9));
    }

    @Test
    void aPageOfAnotherEngineIsRefused() throws IOException {
        EngineMetricsParser sglang = EngineMetricsParser.of(Engine.SGLANG);
        String vllm = page("vllm.txt");
        assertThatThrownBy(() -> sglang.parse(vllm, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sglang");
        byte[] bytes = vllm.getBytes(StandardCharsets.UTF_8);
        assertThat(sglang.tryParse(bytes, 0, bytes.length, 0)).isNull();
    }

    @Test
    void malformedLinesAreSkippedAndCrlfIsAccepted() {
        String text = "vllm:num_requests_waiting{model_name=\"x\" 3\r\n"     // unterminated labels: skipped
                + "vllm:num_requests_running\r\n"                            // no value: skipped
                + "  vllm:num_requests_running{model_name=\"a \\\"b\\\"\"} 2.5e0 1700000000000\r\n"
                + "vllm:num_requests_waiting NaN\r\n"
                + "vllm:kv_cache_usage_perc{model_name=\"x\"} 7\r\n";         // out of range: clamped
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(text, 0);
        assertThat(m.running()).isEqualTo(3);   // 2.5 rounds half up
        assertThat(m.waiting()).isZero();
        assertThat(m.kvCacheUsage()).isEqualTo(1.0);
    }

    @Test
    void labelValuesAreUnescapedAndOffsetsRespected() {
        String text = "garbage-before\nvllm:num_requests_waiting 1\nvllm:num_requests_running 1\n"
                + "vllm:lora_requests_info{max_lora=\"2\",running_lora_adapters=\"a\\\\b,c\\\"d\"} 5\n";
        byte[] bytes = ("XXXX" + text + "YYYY").getBytes(StandardCharsets.UTF_8);
        ServerMetrics m = EngineMetricsParser.of(Engine.VLLM).parse(bytes, 4, bytes.length - 8, 7);
        assertThat(m.runningAdapters()).containsExactlyInAnyOrder("a\\b", "c\"d");
        assertThat(m.maxAdapters()).isEqualTo(2);
    }
}
