package io.sluice.proxy.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.HashKeys;
import io.sluice.balance.PickContext;
import io.sluice.config.ConfigException;
import io.sluice.config.PoolConfig;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.Member;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class PoolAffinityTest {

    private static PoolConfig pool(String settings) throws ConfigException {
        String yaml = "listeners: []\npools:\n  - name: p\n    endpoints: [ { address: \"10.0.0.1:80\" } ]\n    "
                + settings.replace("\n", "\n    ") + "\n";
        return SluiceConfig.parse(yaml, "t", Path.of(".")).pools().get(0);
    }

    private record Req(Map<String, String> headers, String rawQuery, long clientIpKey)
            implements PoolAffinity.Request {
        @Override
        public Optional<String> header(String lowerName) {
            return Optional.ofNullable(headers.get(lowerName));
        }
    }

    @Test
    void findsCookiesAndQueryParametersAsSent() {
        assertThat(PoolAffinity.cookie("a=1; uid=u%2042; b=2", "uid")).contains("u%2042");
        assertThat(PoolAffinity.cookie("xuid=1;uid=7", "uid")).contains("7");
        assertThat(PoolAffinity.cookie("uidx=1", "uid")).isEmpty();
        assertThat(PoolAffinity.cookie("uid = 9 ", "uid")).contains("9");
        assertThat(PoolAffinity.parameter("x=1&user=bob&user=eve", "user")).contains("bob");
        assertThat(PoolAffinity.parameter("username=a", "user")).isEmpty();
        assertThat(PoolAffinity.parameter("user", "user")).contains("");
        assertThat(PoolAffinity.parameter("", "user")).isEmpty();
    }

    @Test
    void putsTheHashOnValueIntoThePick() throws ConfigException {
        PickContext pick = new PickContext();
        PoolAffinity.of(pool("policy: maglev\nhash_on: header:x-user")).prepare(pick,
                new Req(Map.of("x-user", "alice"), "", 7));
        assertThat(pick.hash()).isEqualTo(HashKeys.of("alice"));

        PoolAffinity.of(pool("policy: ring-hash\nhash_on: cookie:uid")).prepare(pick.reset(),
                new Req(Map.of("cookie", "theme=dark; uid=42"), "", 7));
        assertThat(pick.hash()).isEqualTo(HashKeys.of("42"));

        PoolAffinity.of(pool("policy: ring-hash\nhash_on: query:u")).prepare(pick.reset(),
                new Req(Map.of(), "u=carol&v=1", 7));
        assertThat(pick.hash()).isEqualTo(HashKeys.of("carol"));

        PoolAffinity.of(pool("policy: ip-hash")).prepare(pick.reset(), new Req(Map.of(), "", 99));
        assertThat(pick.hash()).isEqualTo(99);
    }

    @Test
    void missingOrEmptyValuesLeaveTheRequestKeyless() throws ConfigException {
        PoolAffinity affinity = PoolAffinity.of(pool("policy: maglev\nhash_on: header:x-user"));
        PickContext pick = new PickContext();
        affinity.prepare(pick, new Req(Map.of(), "", 7));
        assertThat(pick.hasHash()).isFalse();
        affinity.prepare(pick, new Req(Map.of("x-user", ""), "", 7));
        assertThat(pick.hasHash()).isFalse();
        // Non-hash policies ignore hash_on.
        PoolAffinity.of(pool("policy: round-robin\nhash_on: header:x-user")).prepare(pick,
                new Req(Map.of("x-user", "bob"), "", 7));
        assertThat(pick.hasHash()).isFalse();
    }

    @Test
    void stickyCookieIsSecureOnTlsListenersOnly() throws ConfigException {
        PoolAffinity affinity = PoolAffinity.of(pool("sticky: { cookie: SLUICE, ttl: 10m }"));
        Member m = new Member(0, Endpoint.of(Address.parse("10.0.0.1:80")), true, 0);
        PickContext pick = new PickContext();
        affinity.prepare(pick, new Req(Map.of(), "", 7));
        assertThat(affinity.setCookie(pick, m, false)).hasValueSatisfying(c -> assertThat(c)
                .matches("SLUICE=[0-9a-f]{16}; Path=/; Max-Age=600; HttpOnly; SameSite=Lax"));
        assertThat(affinity.setCookie(pick, m, true)).hasValueSatisfying(c -> assertThat(c).endsWith("; Secure"));
        String value = affinity.setCookie(pick, m, false).orElseThrow().substring(7, 23);
        affinity.prepare(pick.reset(), new Req(Map.of("cookie", "a=b; SLUICE=" + value), "", 7));
        assertThat(affinity.setCookie(pick, m, false)).isEmpty();
    }
}
