package io.sluice.sim.server;

import io.sluice.sim.engine.Faults;
import io.sluice.sim.engine.Profile;
import java.util.List;
import java.util.Objects;

/**
 * How to run {@code sluice sim}.
 *
 * @param host             the address to bind
 * @param port             the first replica's port (0: each replica gets a free port from the OS)
 * @param replicas         servers to start, on consecutive ports
 * @param profile          the GPU/model profile of every replica
 * @param model            the model name served (and required in requests)
 * @param adapters         LoRA adapters served as extra model names
 * @param faults           failures to inject
 * @param seed             seed of every replica's random draws (replica i uses {@code seed + i})
 * @param defaultMaxTokens output length of a chat request that sets no {@code max_tokens}
 */
public record SimOptions(String host, int port, int replicas, Profile profile, String model, List<String> adapters,
                         Faults faults, long seed, int defaultMaxTokens) {

    /** Checks the fields. */
    public SimOptions {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(profile, "profile");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(faults, "faults");
        adapters = List.copyOf(adapters);
        if (port < 0 || port > 65535 || (port > 0 && port + replicas - 1 > 65535)) {
            throw new IllegalArgumentException("ports " + port + ".." + (port + replicas - 1) + " are out of range");
        }
        if (replicas < 1 || replicas > 256) {
            throw new IllegalArgumentException("replicas must be within 1..256: " + replicas);
        }
        if (defaultMaxTokens < 1) {
            throw new IllegalArgumentException("default max tokens must be at least 1");
        }
        if (adapters.contains(model)) {
            throw new IllegalArgumentException("adapter name " + model + " is the model's name");
        }
    }

    /** One replica of a profile on a free loopback port, serving the profile's model, no faults. */
    public static SimOptions of(Profile profile) {
        return new SimOptions("127.0.0.1", 0, 1, profile, profile.model().servedName(), List.of(), Faults.NONE, 1,
                256);
    }

    /** A copy with another replica count. */
    public SimOptions withReplicas(int value) {
        return new SimOptions(host, port, value, profile, model, adapters, faults, seed, defaultMaxTokens);
    }

    /** A copy with another profile. */
    public SimOptions withProfile(Profile value) {
        return new SimOptions(host, port, replicas, value, model, adapters, faults, seed, defaultMaxTokens);
    }

    /** A copy with other faults. */
    public SimOptions withFaults(Faults value) {
        return new SimOptions(host, port, replicas, profile, model, adapters, value, seed, defaultMaxTokens);
    }

    /** A copy serving LoRA adapters. */
    public SimOptions withAdapters(List<String> value) {
        return new SimOptions(host, port, replicas, profile, model, value, faults, seed, defaultMaxTokens);
    }

    /** A copy binding another address and first port. */
    public SimOptions withAddress(String bindHost, int firstPort) {
        return new SimOptions(bindHost, firstPort, replicas, profile, model, adapters, faults, seed,
                defaultMaxTokens);
    }

    /** A copy serving another model name. */
    public SimOptions withModel(String value) {
        return new SimOptions(host, port, replicas, profile, value, adapters, faults, seed, defaultMaxTokens);
    }
}
