package io.sluice.sim.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The profiles against published vLLM measurements (docs/simulator.md, "Calibration"): each case runs the
 * engine the way the publication ran vLLM and checks the prediction stays within the stated tolerance. The
 * printed lines are the table in the docs.
 */
class CalibrationTest {

    /** Closed loop: {@code clients} each send the next request when the previous one finishes. */
    private static double[] closedLoop(Profile p, int clients, int total, int prompt, int output) {
        EngineDriver d = new EngineDriver(p, Faults.NONE, 1, true);
        int[] sent = {0};
        long[] outTokens = {0};
        long[] inTokens = {0};
        EngineListener listener = new EngineListener() {
            @Override
            public void onTokens(EngineRequest r, int n, long now) {
            }

            @Override
            public void onFinished(EngineRequest r, long now) {
                outTokens[0] += r.generated();
                inTokens[0] += r.promptTokens();
                if (sent[0] < total) {
                    d.engine.submit(EngineRequest.of(sent[0]++, prompt, output, new long[0],
                            java.util.Optional.empty(), this));
                }
            }

            @Override
            public void onFailed(EngineRequest r, Failure f, long now) {
                throw new AssertionError(f);
            }
        };
        for (int i = 0; i < clients && sent[0] < total; i++) {
            d.engine.submit(EngineRequest.of(sent[0]++, prompt, output, new long[0], java.util.Optional.empty(),
                    listener));
        }
        d.runToIdle(10_000_000);
        double seconds = d.clock.nanoTime() / 1e9;
        return new double[] {outTokens[0] / seconds, (inTokens[0] + outTokens[0]) / seconds, seconds};
    }

    private static void row(String name, double published, double predicted, double tolerance) {
        double error = predicted / published - 1;
        System.out.printf(Locale.ROOT, "calibration | %-62s | %10.1f | %10.1f | %+6.1f%%%n", name, published,
                predicted, error * 100);
        assertThat(Math.abs(error)).as(name).isLessThanOrEqualTo(tolerance);
    }

    @Test
    void llama8bOnA100DecodeAtConcurrencyOneAndEight() {
        Profile a100 = Profile.of("a100-40g-llama3-8b");
        row("A100-40G Llama-3.1-8B 1024/128 C=1, output tok/s", 75,
                closedLoop(a100, 1, 20, 1024, 128)[0], 0.10);
        row("A100-40G Llama-3.1-8B 1024/128 C=8, output tok/s", 6.6 * 75,
                closedLoop(a100, 8, 160, 1024, 128)[0], 0.15);
    }

    @Test
    void llama8bOnH200BatchLatency() {
        Profile h200 = Profile.of("h200-llama3-8b");
        double batch8Ms = closedLoop(h200, 8, 8, 32, 128)[2] * 1000;
        row("H200 Llama-3.1-8B batch 8, 32/128, latency ms (vLLM 0.6)", 833.4, batch8Ms, 0.35);
    }

    @Test
    void qwen32bOnA100SaturatedThroughput() {
        Profile a100 = Profile.of("a100-80g-qwen3-32b");
        row("A100-80G Qwen3-32B 2000/100 saturated, total tok/s", 2521.38,
                closedLoop(a100, 1000, 1000, 2000, 100)[1], 0.15);
        row("A100-80G Qwen3-32B 4000/200 saturated, total tok/s", 1837.08,
                closedLoop(a100, 1000, 1000, 4000, 200)[1], 0.15);
    }
}
