package io.sluice.sim.trace;

import java.time.Duration;
import java.util.Objects;

/**
 * What a synthetic workload looks like: the arrival process, the lengths, and the sharing between requests.
 *
 * @param ratePerSecond mean arrival rate of new conversations (follow-up turns come on top)
 * @param gammaCv       coefficient of variation of inter-arrival times: 1 is Poisson, above 1 is burstier
 *                      (gamma-distributed gaps)
 * @param duration      how long to generate for (0: until the request limit)
 * @param lengths       prompt and output lengths
 * @param prefixGroups  number of shared prefixes (system prompts, few-shot examples); 0: none
 * @param prefixTokens  length of each shared prefix
 * @param prefixShare   fraction of conversations that start with one of the shared prefixes
 * @param turns         turns per conversation (1: single requests); later turns resend the whole history
 * @param thinkTime     mean time between a turn's arrival and the next turn's
 * @param adapters      number of LoRA adapters requests are spread over uniformly (0: base model only)
 * @param seed          seed of every draw
 */
public record Workload(double ratePerSecond, double gammaCv, Duration duration, LengthSampler lengths,
                       int prefixGroups, int prefixTokens, double prefixShare, int turns, Duration thinkTime,
                       int adapters, long seed) {

    /** Checks the fields. */
    public Workload {
        Objects.requireNonNull(lengths, "lengths");
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("rate must be above 0 requests/s: " + ratePerSecond);
        }
        if (!(gammaCv > 0)) {
            throw new IllegalArgumentException("arrival cv must be above 0: " + gammaCv);
        }
        if (prefixGroups < 0 || prefixTokens < 0 || !(prefixShare >= 0 && prefixShare <= 1) || turns < 1
                || adapters < 0) {
            throw new IllegalArgumentException("invalid workload sharing settings");
        }
    }

    /** Poisson arrivals of independent requests with the given lengths. */
    public static Workload poisson(double ratePerSecond, LengthSampler lengths, long seed) {
        return new Workload(ratePerSecond, 1, Duration.ZERO, lengths, 0, 0, 0, 1, Duration.ofSeconds(30), 0,
                seed);
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        b.append(gammaCv == 1 ? "poisson " : "gamma(cv=" + gammaCv + ") ").append(ratePerSecond).append("/s, ")
                .append(lengths);
        if (prefixGroups > 0) {
            b.append(", ").append(prefixGroups).append(" shared prefixes of ").append(prefixTokens)
                    .append(" tokens for ").append(Math.round(prefixShare * 100)).append("%");
        }
        if (turns > 1) {
            b.append(", ").append(turns).append("-turn sessions");
        }
        if (adapters > 0) {
            b.append(", ").append(adapters).append(" adapters");
        }
        return b.toString();
    }
}
