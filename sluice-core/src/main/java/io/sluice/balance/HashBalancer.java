package io.sluice.balance;

/**
 * A hash policy ({@code ip-hash}, {@code ring-hash}, {@code maglev}, {@code consistent-hash-bounded}): requests
 * with a key ({@link PickContext#hash(long)}) go where the key maps; requests without one go to the pool's
 * {@code hash_fallback} policy, and are counted so that a misconfigured {@code hash_on} shows up in metrics.
 */
public interface HashBalancer extends LoadBalancer {

    /** The policy requests without a key go to. */
    LoadBalancer fallback();

    /** Requests that had no hash key and went to the fallback policy, since this balancer was built. */
    long keylessRequests();
}
