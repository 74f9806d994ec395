package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;

/**
 * A balancing policy: stateless configuration that builds a {@link Selector} for each snapshot of a pool.
 *
 * <p>The split follows Armeria's {@code EndpointSelectionStrategy} / {@code EndpointSelector}: the strategy is
 * built once from config; the selector holds the algorithm's state (cursor, ring, table) for one snapshot and is
 * replaced when the snapshot changes, so the request path never rebuilds anything.
 */
public interface LoadBalancer {

    /** The policy's name as written in configuration ({@code round-robin}, {@code maglev}, ...). */
    String name();

    /** Builds the selector for a snapshot. Called when membership or state changes, never per request. */
    Selector newSelector(EndpointSet snapshot);
}
