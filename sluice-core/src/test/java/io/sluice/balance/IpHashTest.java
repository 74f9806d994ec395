package io.sluice.balance;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.endpoint.AdminState;
import io.sluice.endpoint.Member;
import io.sluice.time.ManualClock;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IpHashTest {

    private final ManualClock clock = ManualClock.start();

    private Pool pool(int... weights) {
        return Fixtures.pool(Balancers.of("ip-hash", Fixtures.seeded(1), clock), clock, weights);
    }

    private static long client(int i) {
        byte[] raw = {(byte) 192, (byte) 168, (byte) (i >> 8), (byte) i};
        return HashKeys.ofClientIp(raw);
    }

    @Test
    void spreadsClientsByWeight() {
        Pool pool = pool(1, 2, 3, 2);
        Map<Member, Integer> counts = new HashMap<>();
        PickContext ctx = new PickContext();
        int clients = 60_000;
        for (int i = 0; i < clients; i++) {
            counts.merge(pool.select(ctx.reset().hash(client(i))), 1, Integer::sum);
        }
        int[] weights = {1, 2, 3, 2};
        for (int i = 0; i < weights.length; i++) {
            double expected = clients * weights[i] / 8.0;
            assertThat((double) counts.get(Fixtures.member(pool, i))).isBetween(expected * 0.96, expected * 1.04);
        }
    }

    @Test
    void clientsOfEndpointsThatStayUpNeverMoveWhenAnotherGoesDownAndComesBack() {
        Pool pool = pool(1, 1, 1, 1, 1);
        int clients = 20_000;
        Member[] before = new Member[clients];
        PickContext ctx = new PickContext();
        for (int i = 0; i < clients; i++) {
            before[i] = pool.select(ctx.reset().hash(client(i)));
        }
        Member down = Fixtures.member(pool, 3);
        pool.setAdminState(down.address(), AdminState.DRAINING);
        int moved = 0;
        for (int i = 0; i < clients; i++) {
            Member now = pool.select(ctx.reset().hash(client(i)));
            assertThat(now).isNotEqualTo(down);
            if (before[i] != down) {
                assertThat(now).as("client %d", i).isSameAs(before[i]);
            } else {
                moved++;
            }
        }
        assertThat(moved).isBetween(clients / 5 - 600, clients / 5 + 600);
        pool.setAdminState(down.address(), AdminState.ENABLED);
        for (int i = 0; i < clients; i++) {
            assertThat(pool.select(ctx.reset().hash(client(i)))).isSameAs(before[i]);
        }
    }

    @Test
    void ipv4MappedIpv6AddressesHashAsTheirIpv4Form() throws UnknownHostException {
        byte[] mapped = new byte[16];
        mapped[10] = (byte) 0xff;
        mapped[11] = (byte) 0xff;
        mapped[12] = 10;
        mapped[15] = 7;
        assertThat(HashKeys.ofClientIp(mapped)).isEqualTo(HashKeys.ofClientIp(InetAddress.getByName("10.0.0.7")));
        assertThat(HashKeys.ofClientIp(InetAddress.getByName("::1")))
                .isNotEqualTo(HashKeys.ofClientIp(InetAddress.getByName("127.0.0.1")));
    }
}
