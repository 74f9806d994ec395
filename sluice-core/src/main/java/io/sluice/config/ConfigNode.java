package io.sluice.config;

import io.sluice.endpoint.Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import tools.jackson.databind.JsonNode;

/**
 * A YAML mapping being read into a config record: typed getters with defaults and ranges, each error recorded with
 * its full path and the value found, and every key that no getter asked for reported as unknown.
 *
 * <p>Reading never stops at the first error: a getter that finds a bad value records it and returns the default,
 * so one pass over the file reports every mistake (the contract of {@code sluice validate}).
 */
final class ConfigNode {

    private final JsonNode json;
    private final String path;
    private final List<ConfigError> errors;
    private final Set<String> read = new LinkedHashSet<>();

    private ConfigNode(JsonNode json, String path, List<ConfigError> errors) {
        this.json = json;
        this.path = path;
        this.errors = errors;
    }

    /** The root of a document; a document that is not a mapping is reported. */
    static ConfigNode root(JsonNode json, List<ConfigError> errors) {
        ConfigNode node = new ConfigNode(json, "", errors);
        if (json != null && !json.isObject() && !json.isMissingNode() && !json.isNull()) {
            node.error("expected a mapping of settings at the top level, got " + describe(json));
        }
        return node;
    }

    /** This node's path. */
    String path() {
        return path;
    }

    /** The path of a key under this node. */
    String pathOf(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    /** Records an error at this node. */
    void error(String message) {
        errors.add(new ConfigError(path, message));
    }

    /** Records an error at a key of this node. */
    void error(String key, String message) {
        errors.add(new ConfigError(pathOf(key), message));
    }

    /** True if the key is present with a non-null value. */
    boolean has(String key) {
        JsonNode v = json == null ? null : json.get(key);
        return v != null && !v.isNull() && !v.isMissingNode();
    }

    private JsonNode raw(String key) {
        read.add(key);
        if (json == null || !json.isObject()) {
            return null;
        }
        JsonNode v = json.get(key);
        return v == null || v.isNull() || v.isMissingNode() ? null : v;
    }

    /** A string, if present. */
    Optional<String> optString(String key) {
        JsonNode v = raw(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isValueNode() || v.isBinary()) {
            error(key, "expected a string, got " + describe(v));
            return Optional.empty();
        }
        String s = v.asString();
        if (s.isBlank()) {
            error(key, "must not be empty");
            return Optional.empty();
        }
        return Optional.of(s);
    }

    /** A string, or the default when absent. */
    String string(String key, String defaultValue) {
        return optString(key).orElse(defaultValue);
    }

    /** A string that must be present. */
    String requiredString(String key) {
        if (!has(key)) {
            read.add(key);
            error(key, "is required");
            return "";
        }
        return optString(key).orElse("");
    }

    /** A name: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit. */
    String requiredName(String key) {
        String name = requiredString(key);
        if (!name.isEmpty() && !name.matches("[a-z0-9][a-z0-9._-]{0,62}")) {
            error(key, "'" + name + "' is not a valid name (lower-case letters, digits, '.', '_', '-'; "
                    + "at most 63 characters, starting with a letter or digit)");
        }
        return name;
    }

    /** An integer within [min, max], or the default when absent. */
    int integer(String key, int defaultValue, int min, int max) {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            error(key, "expected a whole number, got " + describe(v));
            return defaultValue;
        }
        int value = v.intValue();
        if (value < min || value > max) {
            error(key, value + " is out of range (" + min + "-" + max + ")");
            return defaultValue;
        }
        return value;
    }

    /** A number within [min, max], or the default when absent. */
    double number(String key, double defaultValue, double min, double max) {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isNumber()) {
            error(key, "expected a number, got " + describe(v));
            return defaultValue;
        }
        double value = v.doubleValue();
        if (!(value >= min && value <= max)) {
            error(key, v.asString() + " is out of range (" + fmt(min) + "-" + fmt(max) + ")");
            return defaultValue;
        }
        return value;
    }

    /** A boolean, or the default when absent. */
    boolean bool(String key, boolean defaultValue) {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            error(key, "expected true or false, got " + describe(v));
            return defaultValue;
        }
        return v.booleanValue();
    }

    /** A duration ({@code 250ms}, {@code 2s}, {@code 1m30s}) within [min, max], or the default when absent. */
    Duration duration(String key, Duration defaultValue, Duration min, Duration max) {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        Duration d;
        try {
            d = Durations.parse(v.isNumber() ? v.asString() : v.isValueNode() ? v.asString() : null);
        } catch (IllegalArgumentException e) {
            error(key, e.getMessage());
            return defaultValue;
        }
        if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
            error(key, Durations.format(d) + " is out of range (" + Durations.format(min) + "-"
                    + Durations.format(max) + ")");
            return defaultValue;
        }
        return d;
    }

    /** A byte size ({@code 64KiB}, {@code 1MiB}, {@code 512}) within [min, max], or the default when absent. */
    long bytes(String key, long defaultValue, long min, long max) {
        JsonNode v = raw(key);
        if (v == null) {
            return defaultValue;
        }
        long b;
        try {
            b = ByteSizes.parse(v.isValueNode() ? v.asString() : null);
        } catch (IllegalArgumentException e) {
            error(key, e.getMessage());
            return defaultValue;
        }
        if (b < min || b > max) {
            error(key, ByteSizes.format(b) + " is out of range (" + ByteSizes.format(min) + "-"
                    + ByteSizes.format(max) + ")");
            return defaultValue;
        }
        return b;
    }

    /** An address {@code host:port}; the port must be at least {@code minPort} (0 for listeners). */
    Optional<Address> address(String key, boolean required, int minPort) {
        if (!has(key)) {
            read.add(key);
            if (required) {
                error(key, "is required (host:port)");
            }
            return Optional.empty();
        }
        Optional<String> text = optString(key);
        if (text.isEmpty()) {
            return Optional.empty();
        }
        try {
            Address a = Address.parse(text.get());
            if (a.port() < minPort) {
                error(key, "port " + a.port() + " is out of range (" + minPort + "-65535)");
                return Optional.empty();
            }
            return Optional.of(a);
        } catch (IllegalArgumentException e) {
            error(key, e.getMessage());
            return Optional.empty();
        }
    }

    /** One of the given choices (case-sensitive, as documented), or the default when absent. */
    <E> E choice(String key, E defaultValue, Map<String, E> choices) {
        Optional<String> v = optString(key);
        if (v.isEmpty()) {
            return defaultValue;
        }
        E e = choices.get(v.get());
        if (e == null) {
            error(key, "'" + v.get() + "' is not one of " + String.join(", ", choices.keySet()));
            return defaultValue;
        }
        return e;
    }

    /** A list of mappings, each read by the reader; absent means empty. */
    <T> List<T> list(String key, Function<ConfigNode, T> reader) {
        JsonNode v = raw(key);
        if (v == null) {
            return List.of();
        }
        if (!v.isArray()) {
            error(key, "expected a list, got " + describe(v));
            return List.of();
        }
        List<T> out = new ArrayList<>(v.size());
        for (int i = 0; i < v.size(); i++) {
            ConfigNode item = new ConfigNode(v.get(i), pathOf(key) + "[" + i + "]", errors);
            if (!v.get(i).isObject()) {
                item.error("expected a mapping, got " + describe(v.get(i)));
                continue;
            }
            T value = reader.apply(item);
            item.finish();
            if (value != null) {
                out.add(value);
            }
        }
        return out;
    }

    /** A list of strings; absent means empty. A single string is accepted as a list of one. */
    List<String> stringList(String key) {
        JsonNode v = raw(key);
        if (v == null) {
            return List.of();
        }
        if (v.isValueNode() && !v.isBinary()) {
            return List.of(v.asString());
        }
        if (!v.isArray()) {
            error(key, "expected a list of strings, got " + describe(v));
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode item = v.get(i);
            if (!item.isValueNode() || item.isNull()) {
                errors.add(new ConfigError(pathOf(key) + "[" + i + "]", "expected a string, got " + describe(item)));
            } else {
                out.add(item.asString());
            }
        }
        return out;
    }

    /** A mapping of strings to strings; absent means empty. */
    Map<String, String> stringMap(String key) {
        JsonNode v = raw(key);
        if (v == null) {
            return Map.of();
        }
        if (!v.isObject()) {
            error(key, "expected a mapping, got " + describe(v));
            return Map.of();
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (String name : v.propertyNames()) {
            JsonNode item = v.get(name);
            if (!item.isValueNode() || item.isNull()) {
                errors.add(new ConfigError(pathOf(key) + "." + name, "expected a string, got " + describe(item)));
            } else {
                out.put(name, item.asString());
            }
        }
        return out;
    }

    /** A mapping of names to whole numbers within [min, max]; absent means empty. */
    Map<String, Integer> intMap(String key, int min, int max) {
        JsonNode v = raw(key);
        if (v == null) {
            return Map.of();
        }
        if (!v.isObject()) {
            error(key, "expected a mapping, got " + describe(v));
            return Map.of();
        }
        Map<String, Integer> out = new LinkedHashMap<>();
        for (String name : v.propertyNames()) {
            JsonNode item = v.get(name);
            String p = pathOf(key) + "." + name;
            if (!item.isIntegralNumber() || !item.canConvertToInt()) {
                errors.add(new ConfigError(p, "expected a whole number, got " + describe(item)));
            } else if (item.intValue() < min || item.intValue() > max) {
                errors.add(new ConfigError(p, item.intValue() + " is out of range (" + min + "-" + max + ")"));
            } else {
                out.put(name, item.intValue());
            }
        }
        return out;
    }

    /** A nested mapping read by the reader, if present. */
    <T> Optional<T> object(String key, Function<ConfigNode, T> reader) {
        JsonNode v = raw(key);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isObject()) {
            error(key, "expected a mapping, got " + describe(v));
            return Optional.empty();
        }
        ConfigNode child = new ConfigNode(v, pathOf(key), errors);
        T value = reader.apply(child);
        child.finish();
        return Optional.ofNullable(value);
    }

    /** A nested mapping read by the reader; when absent, the reader reads an empty mapping (all defaults). */
    <T> T objectOrDefaults(String key, Function<ConfigNode, T> reader) {
        JsonNode v = raw(key);
        if (v != null && !v.isObject()) {
            error(key, "expected a mapping, got " + describe(v));
            v = null;
        }
        ConfigNode child = new ConfigNode(v, pathOf(key), errors);
        T value = reader.apply(child);
        child.finish();
        return value;
    }

    /** Reports every key of this mapping that no getter read, suggesting the closest known key. */
    void finish() {
        if (json == null || !json.isObject()) {
            return;
        }
        Collection<String> names = json.propertyNames();
        for (String name : names) {
            if (!read.contains(name)) {
                String hint = closest(name, read).map(s -> " (did you mean '" + s + "'?)").orElse("");
                error(name, "unknown key" + hint + "; known keys here: " + String.join(", ", read));
            }
        }
    }

    private static Optional<String> closest(String name, Set<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = levenshtein(name.toLowerCase(Locale.ROOT), k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= Math.max(2, name.length() / 3) ? Optional.of(best) : Optional.empty();
    }

    private static int levenshtein(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** Describes a value for an error message: its type and, for scalars, the value itself. */
    static String describe(JsonNode v) {
        if (v == null || v.isNull()) {
            return "nothing";
        }
        if (v.isArray()) {
            return "a list";
        }
        if (v.isObject()) {
            return "a mapping";
        }
        if (v.isBoolean()) {
            return "boolean " + v.asString();
        }
        if (v.isNumber()) {
            return "number " + v.asString();
        }
        return "string '" + v.asString() + "'";
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
