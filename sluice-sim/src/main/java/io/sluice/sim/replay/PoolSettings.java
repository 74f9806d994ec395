package io.sluice.sim.replay;

import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.ConfigText;
import io.sluice.inference.InferencePolicies;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Settings of the replayed pools, from a YAML file ({@code sluice replay --pool-config}), so a replay can try the
 * pool settings a deployment would use.
 *
 * <p>The file is a mapping with an optional {@code inference:} block, written exactly as under a pool of a Sluice
 * config (docs/configuration.md, docs/inference.md). The block is spliced into the pool config the replay builds
 * for each policy and read by the real config loader, so its defaults, ranges and error messages are the proxy's:
 * {@code pools.yaml: 1 error / inference.saturation.kv_cache: 1.5 is out of range (0.05-1)}. It applies to the
 * policies that take inference settings ({@link InferencePolicies#NAMES}); the other policies run with their
 * defaults, as the config loader refuses an {@code inference:} block on them.
 */
public final class PoolSettings {

    /** No settings: every policy with its documented defaults. */
    public static final PoolSettings NONE = new PoolSettings("", null, null);

    /** Top-level keys a settings file may hold. */
    public static final List<String> KEYS = List.of("inference");

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private final String source;
    private final JsonNode root;
    private final JsonNode inference;

    private PoolSettings(String source, JsonNode root, JsonNode inference) {
        this.source = source;
        this.root = root;
        this.inference = inference;
    }

    /**
     * Reads and checks a settings file.
     *
     * @throws ConfigException naming the file, and each wrong key by its path and value
     */
    public static PoolSettings load(Path file) throws ConfigException {
        return parse(ConfigText.read(file), file.toString());
    }

    /**
     * Reads and checks settings from text.
     *
     * @param source a name for messages (the file name)
     * @throws ConfigException naming the source, and each wrong key by its path and value
     */
    public static PoolSettings parse(String yaml, String source) throws ConfigException {
        JsonNode tree = ConfigText.yaml(yaml, source);
        if (tree == null || tree.isMissingNode() || tree.isNull()) {
            return new PoolSettings(source, null, null);
        }
        List<ConfigError> errors = new ArrayList<>();
        if (!tree.isObject()) {
            errors.add(new ConfigError("", "expected a mapping of pool settings (" + String.join(", ", KEYS)
                    + ") at the top level, got " + tree.getNodeType().name().toLowerCase(java.util.Locale.ROOT)));
            throw new ConfigException(source, errors);
        }
        for (String key : tree.propertyNames()) {
            if (!KEYS.contains(key)) {
                errors.add(new ConfigError(key, "unknown key; known keys here: " + String.join(", ", KEYS)));
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigException(source, errors);
        }
        JsonNode block = tree.get("inference");
        PoolSettings settings = new PoolSettings(source, tree,
                block == null || block.isNull() || block.isMissingNode() ? null : block);
        // The config loader reads the block as it would under a pool of policy: inference.
        PolicyRun.readPool("inference", List.of(), settings);
        return settings;
    }

    /** Where the settings came from (the file name; empty for {@link #NONE}). */
    public String source() {
        return source;
    }

    /** True if there is an {@code inference:} block. */
    public boolean hasInference() {
        return inference != null;
    }

    /** True if a policy's pool gets these settings (an inference block, and a policy that takes one). */
    public boolean appliesTo(String policy) {
        return inference != null && InferencePolicies.handles(policy);
    }

    /** The {@code inference:} block as one line of JSON (which YAML reads as a flow mapping), if any. */
    Optional<String> inferenceFlow() {
        return inference == null ? Optional.empty() : Optional.of(JSON.writeValueAsString(inference));
    }

    /** The settings as read, as a tree of maps and lists (for report.json); empty for none. */
    @SuppressWarnings("unchecked")
    public Map<String, Object> asMap() {
        return root == null ? Map.of() : JSON.convertValue(root, Map.class);
    }

    @Override
    public String toString() {
        return root == null ? "{}" : JSON.writeValueAsString(root);
    }
}
