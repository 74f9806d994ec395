package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;
import java.util.concurrent.atomic.LongAdder;

/**
 * Puts a hash policy and its {@code hash_fallback} policy together: a request with a key goes to the hash policy's
 * selector, one without goes to the fallback's, built from the same snapshot, and is counted.
 */
final class HashFallback implements HashBalancer {

    private final LoadBalancer hashed;
    private final LoadBalancer fallback;
    private final LongAdder keyless = new LongAdder();

    HashFallback(LoadBalancer hashed, LoadBalancer fallback) {
        this.hashed = hashed;
        this.fallback = fallback;
    }

    @Override
    public String name() {
        return hashed.name();
    }

    @Override
    public LoadBalancer fallback() {
        return fallback;
    }

    @Override
    public long keylessRequests() {
        return keyless.sum();
    }

    @Override
    public Selector newSelector(EndpointSet snapshot) {
        if (snapshot.size() == 0) {
            return Selectors.empty(snapshot);
        }
        return new FallbackSelector(hashed.newSelector(snapshot), fallback.newSelector(snapshot), keyless);
    }

    private static final class FallbackSelector implements Selector {
        private final Selector hashed;
        private final Selector fallback;
        private final LongAdder keyless;

        FallbackSelector(Selector hashed, Selector fallback, LongAdder keyless) {
            this.hashed = hashed;
            this.fallback = fallback;
            this.keyless = keyless;
        }

        @Override
        public Member select(PickContext ctx) {
            if (ctx.hasHash()) {
                return hashed.select(ctx);
            }
            if (!ctx.hasExclusions()) {
                keyless.increment(); // once per request, not again on its retries
            }
            return fallback.select(ctx);
        }
    }
}
