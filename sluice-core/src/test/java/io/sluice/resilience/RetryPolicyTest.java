package io.sluice.resilience;

import static io.sluice.resilience.RetryDecision.ATTEMPTS_EXHAUSTED;
import static io.sluice.resilience.RetryDecision.BODY_NOT_REPLAYABLE;
import static io.sluice.resilience.RetryDecision.CONDITION_NOT_ENABLED;
import static io.sluice.resilience.RetryDecision.NOT_IDEMPOTENT;
import static io.sluice.resilience.RetryDecision.RESPONSE_STARTED;
import static io.sluice.resilience.RetryDecision.RETRY;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sluice.config.RetryConfig;
import io.sluice.config.TimeoutsConfig;
import java.time.Duration;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RetryPolicyTest {

    private static final RetryConfig CONFIG = new RetryConfig(3,
            Set.of("connect-failure", "reset-before-response", "timeout", "502", "503", "504"), 20, 3,
            Duration.ofMillis(800), Duration.ofMillis(25), Duration.ofMillis(250), 64 * 1024);

    private static final RetryPolicy POLICY = RetryPolicy.of(CONFIG, TimeoutsConfig.DEFAULT);

    /**
     * The decision table for local failures. Columns: method, failure, bytes sent upstream, body replayable,
     * tries done, expected verdict.
     */
    @ParameterizedTest(name = "{0} {1} sent={2} replayable={3} tries={4} -> {5}")
    @CsvSource({
        // Never left Sluice: retried whatever the method.
        "POST,   CONNECT_FAILURE,       false, true,  1, RETRY",
        "PATCH,  CONNECT_FAILURE,       false, true,  1, RETRY",
        "GET,    CONNECT_FAILURE,       false, true,  1, RETRY",
        "POST,   RESET_BEFORE_RESPONSE, false, true,  1, RETRY",
        "POST,   TIMEOUT,               false, true,  2, RETRY",
        // A connect failure cannot have sent anything, whatever the caller says.
        "POST,   CONNECT_FAILURE,       true,  true,  1, RETRY",
        // Reached a backend: only idempotent methods (RFC 9110 9.2.2).
        "POST,   RESET_BEFORE_RESPONSE, true,  true,  1, NOT_IDEMPOTENT",
        "POST,   TIMEOUT,               true,  true,  1, NOT_IDEMPOTENT",
        "PATCH,  TIMEOUT,               true,  true,  1, NOT_IDEMPOTENT",
        "CONNECT,RESET_BEFORE_RESPONSE, true,  true,  1, NOT_IDEMPOTENT",
        "get,    RESET_BEFORE_RESPONSE, true,  true,  1, NOT_IDEMPOTENT",
        "GET,    RESET_BEFORE_RESPONSE, true,  true,  1, RETRY",
        "HEAD,   TIMEOUT,               true,  true,  1, RETRY",
        "OPTIONS,TIMEOUT,               true,  true,  1, RETRY",
        "TRACE,  TIMEOUT,               true,  true,  1, RETRY",
        "PUT,    RESET_BEFORE_RESPONSE, true,  true,  2, RETRY",
        "DELETE, TIMEOUT,               true,  true,  1, RETRY",
        // The body must still be sendable from its first byte.
        "PUT,    RESET_BEFORE_RESPONSE, true,  false, 1, BODY_NOT_REPLAYABLE",
        "POST,   CONNECT_FAILURE,       false, false, 1, BODY_NOT_REPLAYABLE",
        // Part of the response went out: never.
        "GET,    RESET_AFTER_RESPONSE,  true,  true,  1, RESPONSE_STARTED",
        // Out of tries: never.
        "GET,    CONNECT_FAILURE,       false, true,  3, ATTEMPTS_EXHAUSTED",
        "POST,   CONNECT_FAILURE,       false, true,  3, ATTEMPTS_EXHAUSTED",
        "GET,    RESET_AFTER_RESPONSE,  true,  true,  3, ATTEMPTS_EXHAUSTED",
    })
    void localFailureDecisionTable(String method, UpstreamFailure failure, boolean sent, boolean replayable,
                                   int tries, RetryDecision expected) {
        assertThat(POLICY.decide(RetryRequest.of(method, replayable), tries, failure, sent)).isEqualTo(expected);
    }

    /** Columns: method, status, body replayable, tries done, expected verdict. */
    @ParameterizedTest(name = "{0} {1} replayable={2} tries={3} -> {4}")
    @CsvSource({
        "GET,    503, true,  1, RETRY",
        "GET,    502, true,  2, RETRY",
        "PUT,    504, true,  1, RETRY",
        "GET,    500, true,  1, CONDITION_NOT_ENABLED",
        "GET,    429, true,  1, CONDITION_NOT_ENABLED",
        "GET,    200, true,  1, CONDITION_NOT_ENABLED",
        "POST,   503, true,  1, NOT_IDEMPOTENT",
        "POST,   502, true,  1, NOT_IDEMPOTENT",
        "DELETE, 503, false, 1, BODY_NOT_REPLAYABLE",
        "GET,    503, true,  3, ATTEMPTS_EXHAUSTED",
    })
    void statusDecisionTable(String method, int status, boolean replayable, int tries, RetryDecision expected) {
        assertThat(POLICY.decide(RetryRequest.of(method, replayable), tries, status)).isEqualTo(expected);
    }

    @Test
    void postThatReachedABackendIsNeverRetriedWhateverTheFailure() {
        RetryPolicy everything = RetryPolicy.of(new RetryConfig(10,
                Set.of("connect-failure", "reset-before-response", "timeout", "500", "502", "503", "504", "429"), 100,
                100, Duration.ZERO, Duration.ZERO, Duration.ZERO, 1 << 20), TimeoutsConfig.DEFAULT);
        for (String method : new String[] {"POST", "PATCH", "CONNECT", "LOCK"}) {
            for (boolean replayable : new boolean[] {true, false}) {
                RetryRequest request = RetryRequest.of(method, replayable);
                for (int tries = 1; tries <= 12; tries++) {
                    for (UpstreamFailure f : UpstreamFailure.values()) {
                        if (f != UpstreamFailure.CONNECT_FAILURE) {
                            assertThat(everything.decide(request, tries, f, true).retry())
                                    .as("%s %s try %d", method, f, tries).isFalse();
                        }
                    }
                    for (int status = 100; status < 600; status++) {
                        assertThat(everything.decide(request, tries, status).retry())
                                .as("%s %d try %d", method, status, tries).isFalse();
                    }
                }
            }
        }
    }

    @Test
    void conditionsNotListedAreNotRetried() {
        RetryPolicy connectOnly = RetryPolicy.of(new RetryConfig(3, Set.of("connect-failure", "429"), 20, 3,
                Duration.ZERO, Duration.ofMillis(25), Duration.ofMillis(250), 1024), TimeoutsConfig.DEFAULT);
        RetryRequest get = RetryRequest.of("GET", true);
        assertThat(connectOnly.decide(get, 1, UpstreamFailure.CONNECT_FAILURE, false)).isEqualTo(RETRY);
        assertThat(connectOnly.decide(get, 1, UpstreamFailure.RESET_BEFORE_RESPONSE, false))
                .isEqualTo(CONDITION_NOT_ENABLED);
        assertThat(connectOnly.decide(get, 1, UpstreamFailure.TIMEOUT, true)).isEqualTo(CONDITION_NOT_ENABLED);
        assertThat(connectOnly.decide(get, 1, 503)).isEqualTo(CONDITION_NOT_ENABLED);
        assertThat(connectOnly.decide(get, 1, 429)).isEqualTo(RETRY);
        assertThat(connectOnly.retriesOnStatus(429)).isTrue();
        assertThat(connectOnly.retriesOnStatus(503)).isFalse();
        assertThat(connectOnly.retriesOnStatus(-1)).isFalse();
        assertThat(connectOnly.retriesOnStatus(999)).isFalse();
    }

    @Test
    void listing504AlsoRetriesPerTryTimeoutsAsEnvoyDoes() {
        RetryRequest get = RetryRequest.of("GET", true);
        RetryPolicy gateway = RetryPolicy.of(RetryConfig.DEFAULT, TimeoutsConfig.DEFAULT);
        assertThat(RetryConfig.DEFAULT.on()).doesNotContain("timeout").contains("504");
        assertThat(gateway.decide(get, 1, UpstreamFailure.TIMEOUT, true)).isEqualTo(RETRY);
        RetryPolicy timeoutOnly = RetryPolicy.of(new RetryConfig(2, Set.of("timeout"), 20, 3, Duration.ZERO,
                Duration.ZERO, Duration.ZERO, 1024), TimeoutsConfig.DEFAULT);
        assertThat(timeoutOnly.decide(get, 1, UpstreamFailure.TIMEOUT, true)).isEqualTo(RETRY);
        assertThat(timeoutOnly.decide(get, 1, 504)).isEqualTo(CONDITION_NOT_ENABLED);
    }

    @Test
    void oneAttemptMeansNoRetry() {
        RetryPolicy single = RetryPolicy.of(new RetryConfig(1, RetryConfig.DEFAULT.on(), 20, 3, Duration.ZERO,
                Duration.ofMillis(25), Duration.ofMillis(250), 1024), TimeoutsConfig.DEFAULT);
        assertThat(single.decide(RetryRequest.of("GET", true), 1, UpstreamFailure.CONNECT_FAILURE, false))
                .isEqualTo(ATTEMPTS_EXHAUSTED);
    }

    @Test
    void idempotentMethodsAreThoseOfRfc9110() {
        for (String m : new String[] {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
            assertThat(RetryRequest.idempotent(m)).as(m).isTrue();
        }
        for (String m : new String[] {"POST", "PATCH", "CONNECT", "get", "Put", "PROPFIND", ""}) {
            assertThat(RetryRequest.idempotent(m)).as(m).isFalse();
        }
        assertThat(RetryRequest.of("GET", true)).isSameAs(RetryRequest.of(true, true));
    }

    @Test
    void backoffIsFullJitterUnderADoublingCappedCeiling() {
        SplittableRandom random = new SplittableRandom(2015);
        long base = Duration.ofMillis(25).toNanos();
        long max = Duration.ofMillis(250).toNanos();
        long[] ceilings = {base, 2 * base, 4 * base, 8 * base, max, max, max};
        for (int retry = 1; retry <= ceilings.length; retry++) {
            assertThat(POLICY.backoffCeilingNanos(retry)).isEqualTo(ceilings[retry - 1]);
            long sum = 0;
            long lowest = Long.MAX_VALUE;
            long highest = 0;
            int n = 2000;
            for (int i = 0; i < n; i++) {
                long b = POLICY.backoffNanos(retry, random);
                assertThat(b).isGreaterThanOrEqualTo(0).isLessThan(ceilings[retry - 1]);
                sum += b;
                lowest = Math.min(lowest, b);
                highest = Math.max(highest, b);
            }
            double mean = (double) sum / n;
            assertThat(mean).as("uniform: mean near half the ceiling")
                    .isBetween(0.45 * ceilings[retry - 1], 0.55 * ceilings[retry - 1]);
            assertThat(lowest).isLessThan(ceilings[retry - 1] / 20);
            assertThat(highest).isGreaterThan(ceilings[retry - 1] * 19 / 20);
        }
        assertThat(POLICY.backoffCeilingNanos(1000)).isEqualTo(max);
        assertThatThrownBy(() -> POLICY.backoffNanos(0, random)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void zeroBaseMeansNoBackoff() {
        RetryPolicy noWait = RetryPolicy.of(new RetryConfig(3, RetryConfig.DEFAULT.on(), 20, 3, Duration.ZERO,
                Duration.ZERO, Duration.ZERO, 1024), TimeoutsConfig.DEFAULT);
        assertThat(noWait.backoffNanos(3, new SplittableRandom(1))).isZero();
    }

    @Test
    void perTryTimeoutDefaultsToTheResponseHeaderTimeout() {
        assertThat(POLICY.perTryTimeout()).isEqualTo(Duration.ofMillis(800));
        TimeoutsConfig timeouts = new TimeoutsConfig(Duration.ofSeconds(1), Duration.ofSeconds(7),
                Duration.ofSeconds(60), Duration.ofSeconds(4));
        assertThat(RetryPolicy.of(RetryConfig.DEFAULT, timeouts).perTryTimeout()).isEqualTo(Duration.ofSeconds(7));
    }

    @Test
    void bodiesUpToTheBufferAreReplayable() {
        assertThat(POLICY.bufferable(0)).isTrue();
        assertThat(POLICY.bufferable(64 * 1024)).isTrue();
        assertThat(POLICY.bufferable(64 * 1024 + 1)).isFalse();
        assertThat(POLICY.bufferable(-1)).as("unknown length").isFalse();
        assertThat(POLICY.maxBodyBuffer()).isEqualTo(64 * 1024);
        assertThat(POLICY.attempts()).isEqualTo(3);
    }
}
