package io.sluice.proxy.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.handler.ssl.SslContextBuilder;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import io.sluice.proxy.testing.TestCertificates;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS termination with real clients (curl, the JDK's HttpClient and SSLSocket): ALPN h2 and http/1.1, SNI picking
 * the certificate, mutual TLS, hot certificate reload; and re-encryption to TLS backends with verification.
 */
class TlsIT {

    @TempDir
    static Path dir;
    static TestCertificates.Issued ca;
    static TestCertificates.Issued otherCa;
    static TestBackend backend;
    static TestBackend tlsBackend;
    static TestBackend untrustedBackend;
    static RunningSluice sluice;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.ca("Sluice Test CA");
        otherCa = TestCertificates.ca("Someone Else's CA");
        ca.issueServer("default.example", List.of("default.example")).write(dir.resolve("default.pem"),
                dir.resolve("default.key"));
        ca.issueServer("a.example", List.of("a.example")).write(dir.resolve("a.pem"), dir.resolve("a.key"));
        ca.issueServer("wild.b.example", List.of("*.b.example")).write(dir.resolve("b.pem"), dir.resolve("b.key"));
        Files.writeString(dir.resolve("ca.pem"), TestCertificates.pem(ca.certificate()));
        TestCertificates.Issued backendCert = ca.issueServer("backend.internal", List.of("backend.internal"));
        TestCertificates.Issued strangerCert = otherCa.issueServer("backend.internal", List.of("backend.internal"));
        backend = TestBackend.start("plain");
        tlsBackend = TestBackend.startTls("tls-backend", SslContextBuilder.forServer(
                backendCert.keys().getPrivate(), backendCert.certificate()).build());
        untrustedBackend = TestBackend.startTls("stranger", SslContextBuilder.forServer(
                strangerCert.keys().getPrivate(), strangerCert.certificate()).build());
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: tls
                    address: 127.0.0.1:0
                    tls:
                      certificate: %1$s/default.pem
                      private_key: %1$s/default.key
                      sni:
                        - { server_name: a.example, certificate: %1$s/a.pem, private_key: %1$s/a.key }
                        - { server_name: "*.b.example", certificate: %1$s/b.pem, private_key: %1$s/b.key }
                    routes:
                      - { match: { path_prefix: /reencrypt }, pool: reencrypt }
                      - { match: { path_prefix: /untrusted }, pool: untrusted }
                      - { match: { path_prefix: /sticky }, pool: sticky }
                      - { match: { path_prefix: / }, pool: plain }
                  - name: mtls
                    address: 127.0.0.1:0
                    tls: { certificate: %1$s/default.pem, private_key: %1$s/default.key, client_ca: %1$s/ca.pem }
                    routes: [ { match: { path_prefix: / }, pool: plain } ]
                pools:
                  - name: plain
                    endpoints: [ { address: %2$s } ]
                  - name: sticky
                    sticky: { cookie: AFF }
                    endpoints: [ { address: %2$s } ]
                  - name: reencrypt
                    tls: { verify: true, ca: %1$s/ca.pem, server_name: backend.internal }
                    endpoints: [ { address: %3$s } ]
                  - name: untrusted
                    tls: { verify: true, ca: %1$s/ca.pem, server_name: backend.internal }
                    endpoints: [ { address: %4$s } ]
                """.formatted(dir, backend.address(), tlsBackend.address(), untrustedBackend.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        backend.close();
        tlsBackend.close();
        untrustedBackend.close();
    }

    private static int port() {
        return sluice.port("tls");
    }

    @Test
    void curlNegotiatesH2AndHttp11ByAlpn() throws Exception {
        for (String[] mode : new String[][] {{"--http2", "2"}, {"--http1.1", "1.1"}}) {
            List<String> out = curl(mode[0], "--cacert", dir.resolve("ca.pem").toString(), "--resolve",
                    "a.example:" + port() + ":127.0.0.1", "-sS", "-w", "\n%{http_version} %{http_code}",
                    "https://a.example:" + port() + "/hello");
            assertThat(out).as("curl " + mode[0]).containsExactly("plain", mode[1] + " 200");
        }
    }

    @Test
    void jdkHttpClientOverTlsWithH2AndHttp11() throws Exception {
        for (HttpClient.Version v : HttpClient.Version.values()) {
            HttpClient client = HttpClient.newBuilder().version(v).sslContext(ca.trustingContext())
                    .connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port()
                    + "/x")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).isEqualTo("plain");
            assertThat(r.version()).isEqualTo(v);
        }
        TestBackend.Seen seen = backend.seen().get(backend.seen().size() - 1);
        assertThat(seen.headers().get("x-forwarded-proto")).isEqualTo("https");
    }

    @Test
    void sniPicksTheCertificate() throws Exception {
        assertThat(peerName(port(), "a.example")).isEqualTo("CN=a.example");
        assertThat(peerName(port(), "x.b.example")).isEqualTo("CN=wild.b.example");
        assertThat(peerName(port(), "unknown.example")).isEqualTo("CN=default.example");
        assertThat(peerName(port(), null)).isEqualTo("CN=default.example");
    }

    @Test
    void mutualTlsAcceptsAKnownClientAndRefusesOthers() throws Exception {
        int mtls = sluice.port("mtls");
        TestCertificates.Issued client = ca.issueClient("client-1");
        HttpClient ok = HttpClient.newBuilder().sslContext(client.clientContext(ca))
                .version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> r = ok.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + mtls + "/m"))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);

        HttpClient anonymous = HttpClient.newBuilder().sslContext(ca.trustingContext())
                .version(HttpClient.Version.HTTP_1_1).build();
        assertThatThrownBy(() -> anonymous.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + mtls
                + "/m")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(java.io.IOException.class);
        TestCertificates.Issued stranger = otherCa.issueClient("intruder");
        HttpClient strangers = HttpClient.newBuilder().sslContext(stranger.clientContext(ca))
                .version(HttpClient.Version.HTTP_1_1).build();
        assertThatThrownBy(() -> strangers.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + mtls
                + "/m")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(java.io.IOException.class);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(sluice.server().metrics()
                .counterValue("sluice_tls_handshakes_total", "listener", "mtls", "result", "failed"))
                .isGreaterThanOrEqualTo(2));
    }

    @Test
    void reEncryptsToVerifiedBackendsAndRefusesUntrustedOnes() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(ca.trustingContext())
                .version(HttpClient.Version.HTTP_1_1).build();
        HttpResponse<String> ok = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port()
                + "/reencrypt")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("tls-backend");
        HttpResponse<String> refused = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port()
                + "/untrusted")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(untrustedBackend.seen()).isEmpty();
    }

    @Test
    void stickyCookieIsSecureOnTls() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(ca.trustingContext())
                .version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://127.0.0.1:" + port()
                + "/sticky")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.headers().firstValue("set-cookie")).get().asString().contains("AFF=").contains("Secure");
    }

    @Test
    void replacedCertificateServesNewHandshakesWithinFiveSecondsAndOpenConnectionsStay() throws Exception {
        BigInteger before = peerCertificate(port(), "a.example").getSerialNumber();
        SSLSocket open = connect(port(), "a.example");
        OutputStream out = open.getOutputStream();
        BufferedReader in = new BufferedReader(new InputStreamReader(open.getInputStream(), StandardCharsets.UTF_8));
        assertThat(roundTrip(out, in)).startsWith("HTTP/1.1 200");

        TestCertificates.Issued replacement = ca.issueServer("a.example", List.of("a.example"));
        Path tmpCert = dir.resolve("a.pem.new");
        Path tmpKey = dir.resolve("a.key.new");
        replacement.write(tmpCert, tmpKey);
        Files.move(tmpKey, dir.resolve("a.key"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmpCert, dir.resolve("a.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        long t0 = System.nanoTime();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(100)).until(() ->
                peerCertificate(port(), "a.example").getSerialNumber().equals(replacement.serial()));
        long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(replacement.serial()).isNotEqualTo(before);
        assertThat(took).isLessThan(5000);
        // The connection opened before the reload still works, with its original certificate.
        assertThat(roundTrip(out, in)).startsWith("HTTP/1.1 200");
        assertThat(((X509Certificate) open.getSession().getPeerCertificates()[0]).getSerialNumber())
                .isEqualTo(before);
        open.close();
    }

    private static String roundTrip(OutputStream out, BufferedReader in) throws Exception {
        out.write("GET /keep HTTP/1.1\r\nHost: a.example\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String status = in.readLine();
        int length = 0;
        for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).strip());
            }
        }
        for (int i = 0; i < length; i++) {
            in.read();
        }
        return status;
    }

    private static SSLSocket connect(int port, String serverName) throws Exception {
        SSLContext ctx = ca.trustingContext();
        SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
        s.setSoTimeout(10_000);
        SSLParameters p = s.getSSLParameters();
        if (serverName != null) {
            p.setServerNames(List.of(new SNIHostName(serverName)));
        } else {
            p.setServerNames(new ArrayList<>());
        }
        p.setApplicationProtocols(new String[] {"http/1.1"});
        s.setSSLParameters(p);
        s.startHandshake();
        return s;
    }

    private static X509Certificate peerCertificate(int port, String serverName) throws Exception {
        try (SSLSocket s = connect(port, serverName)) {
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    private static String peerName(int port, String serverName) throws Exception {
        return peerCertificate(port, serverName).getSubjectX500Principal().getName();
    }

    static List<String> curl(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("curl", "--max-time", "10"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(15, TimeUnit.SECONDS)).isTrue();
        return out.lines().toList();
    }

    @SuppressWarnings("unused")
    private static Class<?> handshakeFailure() {
        return SSLHandshakeException.class;
    }
}
