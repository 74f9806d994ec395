package io.sluice.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;

/** The version, from the build (resource filtered by Maven). */
final class Version implements CommandLine.IVersionProvider {

    /** The version string, e.g. {@code 0.1.0-SNAPSHOT}. */
    static String current() {
        Properties p = new Properties();
        try (InputStream in = Version.class.getResourceAsStream("/sluice-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            return "unknown";
        }
        return p.getProperty("version", "unknown");
    }

    @Override
    public String[] getVersion() {
        return new String[] {"sluice " + current(), "Java " + Runtime.version() + " (" + System.getProperty(
                "java.vendor") + ")"};
    }
}
