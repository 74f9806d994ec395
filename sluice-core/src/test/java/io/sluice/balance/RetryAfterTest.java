package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetryAfterTest {

    private static final long NOW = Instant.parse("2026-10-21T07:28:00Z").toEpochMilli();

    @Test
    void readsSecondsAndHttpDates() {
        assertThat(RetryAfter.millis("120", NOW)).hasValue(120_000);
        assertThat(RetryAfter.millis(" 5 ", NOW)).hasValue(5_000);
        assertThat(RetryAfter.millis("Wed, 21 Oct 2026 07:28:30 GMT", NOW)).hasValue(30_000);
    }

    @Test
    void capsLongDelaysAndIgnoresNonsense() {
        assertThat(RetryAfter.millis("86400", NOW)).hasValue(RetryAfter.MAX_MILLIS);
        assertThat(RetryAfter.millis("99999999999999999999", NOW)).hasValue(RetryAfter.MAX_MILLIS);
        assertThat(RetryAfter.millis("0", NOW)).isEmpty();
        assertThat(RetryAfter.millis("-3", NOW)).isEmpty();
        assertThat(RetryAfter.millis("soon", NOW)).isEmpty();
        assertThat(RetryAfter.millis("Wed, 21 Oct 2026 07:27:00 GMT", NOW)).isEmpty();
        assertThat(RetryAfter.millis("", NOW)).isEmpty();
    }
}
