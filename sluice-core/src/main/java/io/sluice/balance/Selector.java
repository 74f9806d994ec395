package io.sluice.balance;

import io.sluice.endpoint.Member;

/**
 * Picks an endpoint for one request from one snapshot of a pool.
 *
 * <p>Selectors are shared by every event loop, so their state is atomic or immutable. A pick must not allocate
 * and must honour {@link PickContext#excluded(Member)} (endpoints already tried by this request) whenever another
 * candidate exists.
 */
public interface Selector {

    /**
     * Picks an endpoint.
     *
     * @throws NoEndpointException if the snapshot has no candidate
     */
    Member select(PickContext ctx);
}
