package io.sluice.sim.replay;

import io.sluice.sim.engine.Profile;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulated servers of a replay, written {@code 6xa100-80g-llama3-8b} or, for a mixed fleet,
 * {@code 4xh100-llama3-8b,2xa100-80g-llama3-8b}.
 *
 * @param spec    the text it was parsed from
 * @param servers one profile per server, in endpoint order
 */
public record Fleet(String spec, List<Profile> servers) {

    /** Most servers in one replay. */
    public static final int MAX_SERVERS = 4096;

    /** Copies the list. */
    public Fleet {
        servers = List.copyOf(servers);
        if (servers.isEmpty()) {
            throw new IllegalArgumentException("a fleet needs at least one server");
        }
    }

    /**
     * Parses a fleet spec.
     *
     * @throws IllegalArgumentException naming the part that is wrong
     */
    public static Fleet parse(String spec) {
        List<Profile> servers = new ArrayList<>();
        for (String part : spec.split(",")) {
            String p = part.strip();
            if (p.isEmpty()) {
                throw new IllegalArgumentException("fleet '" + spec + "' has an empty part");
            }
            int count = 1;
            int x = p.indexOf('x');
            if (x > 0 && p.substring(0, x).chars().allMatch(Character::isDigit)) {
                try {
                    count = Integer.parseInt(p.substring(0, x));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("fleet part '" + p + "': count is too large");
                }
                p = p.substring(x + 1);
            }
            if (count < 1 || servers.size() + count > MAX_SERVERS) {
                throw new IllegalArgumentException("fleet '" + spec + "': between 1 and " + MAX_SERVERS
                        + " servers");
            }
            Profile profile = Profile.of(p);
            for (int i = 0; i < count; i++) {
                servers.add(profile);
            }
        }
        return new Fleet(spec, servers);
    }

    /** Number of servers. */
    public int size() {
        return servers.size();
    }

    @Override
    public String toString() {
        return spec;
    }
}
