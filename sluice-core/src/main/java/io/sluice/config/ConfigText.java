package io.sluice.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.databind.JsonNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/**
 * Reading settings text: a file into a string and YAML into a tree, each failure a {@link ConfigException} that
 * names the source (a missing file, an unreadable one, a syntax error with its line and column). Used by the Sluice
 * config and by the replay's pool settings, so both report bad input alike.
 */
public final class ConfigText {

    private static final YAMLMapper YAML = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private ConfigText() {
    }

    /** The file's text (UTF-8). */
    public static String read(Path file) throws ConfigException {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigError("", "file not found")));
        } catch (IOException e) {
            throw new ConfigException(file.toString(), List.of(new ConfigError("", "cannot read file: " + e)));
        }
    }

    /** The YAML text as a tree (duplicate keys are an error); {@code source} names it in messages. */
    public static JsonNode yaml(String yaml, String source) throws ConfigException {
        try {
            return YAML.readTree(yaml);
        } catch (JacksonException e) {
            TokenStreamLocation at = e.getLocation();
            String where = at == null ? "" : "line " + at.getLineNr() + ", column " + at.getColumnNr() + ": ";
            throw new ConfigException(source, List.of(new ConfigError("", where + "YAML syntax error: "
                    + e.getOriginalMessage())));
        }
    }
}
