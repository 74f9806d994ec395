package io.sluice.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ListenerTlsConfig;
import io.sluice.proxy.testing.TestCertificates;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ServerCertificatesTest {

    @TempDir
    Path dir;

    private ListenerTlsConfig config() {
        return new ListenerTlsConfig(dir.resolve("c.pem"), dir.resolve("k.pem"), List.of(), Optional.empty(),
                ListenerTlsConfig.ClientAuth.NONE, List.of("h2", "http/1.1"), "TLSv1.2", List.of());
    }

    @Test
    void reloadsOnlyOnceTheFilesHaveBeenQuietForAPoll() throws Exception {
        TestCertificates.Issued ca = TestCertificates.ca("CA");
        ca.issueServer("one", List.of("one")).write(dir.resolve("c.pem"), dir.resolve("k.pem"));
        ServerCertificates certs = ServerCertificates.load("l", config(), true);
        var first = certs.map(null);
        assertThat(certs.reloadIfChanged()).as("nothing changed").isEmpty();

        ca.issueServer("two", List.of("two")).write(dir.resolve("c.pem"), dir.resolve("k.pem"));
        Files.setLastModifiedTime(dir.resolve("c.pem"), java.nio.file.attribute.FileTime.fromMillis(
                System.currentTimeMillis() + 5000));
        assertThat(certs.reloadIfChanged()).as("changed just now: wait a poll").isEmpty();
        assertThat(certs.map(null)).isSameAs(first);
        assertThat(certs.reloadIfChanged()).contains(true);
        assertThat(certs.map(null)).isNotSameAs(first);
    }

    @Test
    void brokenFilesLeaveTheRunningCertificatesInPlace() throws Exception {
        TestCertificates.Issued ca = TestCertificates.ca("CA");
        ca.issueServer("one", List.of("one")).write(dir.resolve("c.pem"), dir.resolve("k.pem"));
        ServerCertificates certs = ServerCertificates.load("l", config(), true);
        var running = certs.map("one");
        Files.writeString(dir.resolve("c.pem"), "not a certificate");
        assertThat(certs.reloadIfChanged()).isEmpty();
        assertThat(certs.reloadIfChanged()).contains(false);
        assertThat(certs.map("one")).isSameAs(running);
        assertThat(certs.reloadIfChanged()).as("the same broken files are not retried every poll").isEmpty();
    }
}
