package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.PoolConfig;
import io.sluice.endpoint.AdminState;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StickySessionsTest {

    private final ManualClock clock = ManualClock.start();

    private static PoolConfig config(String sticky) {
        StringBuilder yaml = new StringBuilder("name: web\npolicy: round-robin\nsticky: " + sticky
                + "\nendpoints:\n");
        for (int i = 0; i < 4; i++) {
            yaml.append("  - { address: \"").append(Fixtures.address(i)).append("\" }\n");
        }
        return Fixtures.config(yaml.toString());
    }

    private Pool pool(PoolConfig config) {
        return Fixtures.pool(Balancers.of(config, Fixtures.seeded(1), clock), clock, 1, 1, 1, 1);
    }

    @Test
    void cookieRoundTripKeepsAClientOnItsEndpoint() {
        PoolConfig config = config("{ cookie: SLUICE, ttl: 1h }");
        StickySessions sticky = StickySessions.of(config).orElseThrow();
        Pool pool = pool(config);
        PickContext ctx = new PickContext();

        Member first = pool.select(ctx.reset());
        assertThat(sticky.shouldSetCookie(ctx, first)).as("a new client gets a cookie").isTrue();
        String header = sticky.setCookie(first, false);
        assertThat(header).startsWith("SLUICE=").contains("; Path=/", "; Max-Age=3600", "; HttpOnly",
                "; SameSite=Lax").doesNotContain("Secure").doesNotContain(first.address().host());
        String value = header.substring("SLUICE=".length(), header.indexOf(';'));
        assertThat(value).matches("[0-9a-f]{16}");

        for (int i = 0; i < 50; i++) {
            ctx.reset();
            assertThat(sticky.read(value, ctx)).isTrue();
            Member again = pool.select(ctx);
            assertThat(again).isSameAs(first);
            assertThat(sticky.shouldSetCookie(ctx, again)).isFalse();
        }
        assertThat(sticky.setCookie(first, true)).endsWith("; Secure");
    }

    @Test
    void aClientWhoseEndpointIsGoneIsRePickedAndGetsANewCookie() {
        PoolConfig config = config("{ cookie: SLUICE }");
        StickySessions sticky = StickySessions.of(config).orElseThrow();
        Pool pool = pool(config);
        PickContext ctx = new PickContext();
        Member first = pool.select(ctx.reset());
        String value = sticky.cookieValue(first);

        for (Runnable takeAway : new Runnable[] {
                () -> pool.setAdminState(first.address(), AdminState.DRAINING),
                () -> {
                    pool.setAdminState(first.address(), AdminState.ENABLED);
                    first.setCheckPassing(false, clock.nanoTime());
                    pool.rebuild();
                },
                () -> {
                    first.setCheckPassing(true, clock.nanoTime());
                    pool.remove(first.address());
                }}) {
            takeAway.run();
            ctx.reset();
            sticky.read(value, ctx);
            Member next = pool.select(ctx);
            assertThat(next).isNotSameAs(first);
            assertThat(sticky.shouldSetCookie(ctx, next)).isTrue();
            assertThat(sticky.cookieValue(next)).isNotEqualTo(value);
        }
    }

    @Test
    void aRetryLeavesTheStickyEndpointAndAsksForANewCookie() {
        PoolConfig config = config("{ cookie: SLUICE }");
        StickySessions sticky = StickySessions.of(config).orElseThrow();
        Pool pool = pool(config);
        PickContext ctx = new PickContext();
        Member first = pool.select(ctx.reset());
        ctx.reset();
        sticky.read(sticky.cookieValue(first), ctx);
        Member retry = pool.select(ctx.exclude(first));
        assertThat(retry).isNotSameAs(first);
        assertThat(sticky.shouldSetCookie(ctx, retry)).isTrue();
    }

    @Test
    void foreignOrForgedCookiesAreIgnored() {
        StickySessions sticky = StickySessions.of(config("{ cookie: SLUICE }")).orElseThrow();
        PickContext ctx = new PickContext();
        assertThat(sticky.read("10.0.0.1:8080", ctx)).isFalse();
        assertThat(sticky.read("zzzzzzzzzzzzzzzz", ctx)).isFalse();
        assertThat(ctx.hasAffinity()).isFalse();
        Pool pool = pool(config("{ cookie: SLUICE }"));
        assertThat(sticky.read("0123456789abcdef", ctx)).isTrue();
        Member m = pool.select(ctx);
        assertThat(sticky.shouldSetCookie(ctx, m)).isTrue();
    }

    @Test
    void cookieIdsAreStableAcrossInstancesAndDifferPerPool() {
        PoolConfig config = config("{ cookie: SLUICE }");
        Pool a = pool(config);
        Pool b = pool(config);
        StickySessions one = StickySessions.of(config).orElseThrow();
        StickySessions two = StickySessions.of(config).orElseThrow();
        assertThat(one.cookieValue(Fixtures.member(a, 2))).isEqualTo(two.cookieValue(Fixtures.member(b, 2)));
        StickySessions otherPool = StickySessions.cookie("SLUICE", java.time.Duration.ZERO, "api");
        assertThat(otherPool.cookieValue(Fixtures.member(a, 2))).isNotEqualTo(one.cookieValue(Fixtures.member(a,
                2)));
    }

    @Test
    void headerAffinityMapsASessionToOneEndpointAndMovesOnlyTheSessionsOfAnEndpointThatGoes() {
        PoolConfig config = config("{ header: X-Session-Id }");
        StickySessions sticky = StickySessions.of(config).orElseThrow();
        assertThat(sticky.name()).isEqualTo("x-session-id");
        Pool pool = pool(config);
        PickContext ctx = new PickContext();
        int sessions = 10_000;
        Member[] before = new Member[sessions];
        Map<Member, Integer> spread = new HashMap<>();
        for (int s = 0; s < sessions; s++) {
            ctx.reset();
            sticky.read("session-" + s, ctx);
            before[s] = pool.select(ctx);
            assertThat(sticky.shouldSetCookie(ctx, before[s])).isFalse();
            spread.merge(before[s], 1, Integer::sum);
            ctx.reset();
            sticky.read("session-" + s, ctx);
            assertThat(pool.select(ctx)).isSameAs(before[s]);
        }
        assertThat(spread).hasSize(4).allSatisfy((m, n) -> assertThat(n).isBetween(1_500, 3_500));
        Member gone = Fixtures.member(pool, 1);
        pool.remove(gone.address());
        for (int s = 0; s < sessions; s++) {
            ctx.reset();
            sticky.read("session-" + s, ctx);
            Member now = pool.select(ctx);
            if (before[s] != gone) {
                assertThat(now).isSameAs(before[s]);
            } else {
                assertThat(now).isNotSameAs(gone);
            }
        }
    }

    @Test
    void requestsWithoutAffinityUseThePoolPolicy() {
        PoolConfig config = config("{ cookie: SLUICE }");
        Pool pool = pool(config);
        assertThat(Fixtures.count(pool, 400)).hasSize(4).allSatisfy((m, n) -> assertThat(n).isEqualTo(100));
    }

    @Test
    void stickyRoutingAllocatesNothing() {
        for (String sticky : new String[] {"{ cookie: SLUICE }", "{ header: x-session }"}) {
            PoolConfig config = config(sticky);
            StickySessions sessions = StickySessions.of(config).orElseThrow();
            Pool pool = pool(config);
            String value = sessions.mode() == StickySessions.Mode.COOKIE
                    ? sessions.cookieValue(Fixtures.member(pool, 2)) : "session-7";
            PickContext ctx = new PickContext();
            long allocated = Fixtures.allocatedBytes(10_000, () -> {
                ctx.reset();
                sessions.read(value, ctx);
                Member m = pool.select(ctx);
                if (sessions.shouldSetCookie(ctx, m)) {
                    throw new AssertionError("cookie honoured, nothing to set");
                }
            });
            assertThat(allocated).as(sticky).isLessThan(Fixtures.STRAY_ALLOCATION_BYTES);
        }
    }
}
