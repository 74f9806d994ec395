package io.sluice.endpoint;

import java.util.Map;
import java.util.Objects;

/**
 * One backend of a pool as configured: where it is, how much traffic it should get, and what it serves.
 *
 * <p>Immutable. A change (a new weight from the admin API) makes a new {@code Endpoint}; the live state that
 * survives such changes (load, health) is kept by {@link Member}.
 *
 * @param address where to connect
 * @param weight  relative share of traffic for weighted policies, 1 or more
 * @param backup  used only when no primary endpoint of the pool is usable
 * @param labels  free-form attributes (zone, model, adapters) that filters and scorers may read
 */
public record Endpoint(Address address, int weight, boolean backup, Map<String, String> labels) {

    /** Validates and copies. */
    public Endpoint {
        Objects.requireNonNull(address, "address");
        if (weight < 1) {
            throw new IllegalArgumentException("weight " + weight + " must be at least 1");
        }
        labels = Map.copyOf(labels);
    }

    /** A primary endpoint of weight 1 with no labels. */
    public static Endpoint of(Address address) {
        return new Endpoint(address, 1, false, Map.of());
    }

    /** A primary endpoint with the given weight and no labels. */
    public static Endpoint of(Address address, int weight) {
        return new Endpoint(address, weight, false, Map.of());
    }

    /** A copy with another weight. */
    public Endpoint withWeight(int newWeight) {
        return new Endpoint(address, newWeight, backup, labels);
    }

    @Override
    public String toString() {
        return address.toString();
    }
}
