package io.sluice.health;

import io.sluice.balance.LoadBalancer;
import io.sluice.balance.NoEndpointException;
import io.sluice.balance.Pool;
import io.sluice.balance.Selector;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Endpoint;
import io.sluice.endpoint.EndpointSet;
import io.sluice.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** Pools of loopback endpoints for health tests; the policy picks the first candidate. */
final class TestPools {

    static final LoadBalancer FIRST = new LoadBalancer() {
        @Override
        public String name() {
            return "first";
        }

        @Override
        public Selector newSelector(EndpointSet snapshot) {
            return ctx -> {
                if (snapshot.size() == 0) {
                    throw NoEndpointException.of(NoEndpointException.Reason.NONE_USABLE);
                }
                return snapshot.candidates().get(0);
            };
        }
    };

    private TestPools() {
    }

    /** A pool of {@code n} primaries on 127.0.0.1:9001.. */
    static Pool of(int n, Clock clock, boolean checksRequired) {
        return of(n, 0, clock, checksRequired, EndpointSet.Options.DEFAULT);
    }

    /** A pool of primaries then backups. */
    static Pool of(int primaries, int backups, Clock clock, boolean checksRequired, EndpointSet.Options options) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (int i = 0; i < primaries + backups; i++) {
            endpoints.add(new Endpoint(new Address("127.0.0.1", 9001 + i), 1, i >= primaries, java.util.Map.of()));
        }
        return Pool.of("test", FIRST, options, clock, checksRequired, endpoints, Optional.empty());
    }
}
