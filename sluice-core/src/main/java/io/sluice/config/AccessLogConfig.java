package io.sluice.config;

import java.nio.file.Path;
import java.util.Optional;

/**
 * Where the access log goes: {@code access_log: { path: stdout | stderr | off | /var/log/sluice/access.log }}.
 *
 * <p>Each request is one JSON line, written off the event loop.
 *
 * @param target where lines go
 * @param file   the file, when the target is {@link Target#FILE}
 */
public record AccessLogConfig(Target target, Optional<Path> file) {

    /** The kinds of destination. */
    public enum Target { STDOUT, STDERR, FILE, OFF }

    /** The default: JSON lines on standard output. */
    public static final AccessLogConfig DEFAULT = new AccessLogConfig(Target.STDOUT, Optional.empty());

    static AccessLogConfig read(ConfigNode n, Path baseDir) {
        String path = n.string("path", "stdout");
        return switch (path) {
            case "stdout", "-" -> DEFAULT;
            case "stderr" -> new AccessLogConfig(Target.STDERR, Optional.empty());
            case "off" -> new AccessLogConfig(Target.OFF, Optional.empty());
            default -> new AccessLogConfig(Target.FILE, Optional.of(baseDir.resolve(path)));
        };
    }
}
