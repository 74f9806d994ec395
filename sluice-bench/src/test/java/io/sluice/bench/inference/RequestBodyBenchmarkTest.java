package io.sluice.bench.inference;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RequestBodyBenchmarkTest {

    @Test
    void theStageAndTheBaselineHashTheSameBlocks() throws Exception {
        RequestBodyBenchmark b = new RequestBodyBenchmark();
        b.promptBytes = 225_280;
        b.setUp();
        long[] stage = b.parseAndHash();
        assertThat(stage).hasSizeGreaterThan(3_500);
        assertThat(stage).isEqualTo(b.baseline());
    }
}
