package io.sluice.proxy.tcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.netty.handler.ssl.SslContextBuilder;
import io.sluice.proxy.testing.Bytes;
import io.sluice.proxy.testing.EchoBackend;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import io.sluice.proxy.testing.TestCertificates;
import java.io.DataInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tcp listeners with real sockets: a byte protocol through a pool (with retries past a dead endpoint and
 * backpressure on a large echo), the PROXY protocol sent to endpoints (v2, checked by Netty's decoder) and accepted
 * from trusted networks only, TLS passthrough routed by SNI to two pools, and TLS terminated in front of a TCP pool.
 */
class TcpIT {

    @TempDir
    static Path dir;
    static EchoBackend one;
    static EchoBackend two;
    static EchoBackend proxied;
    static EchoBackend proxiedV1;
    static EchoBackend tlsA;
    static EchoBackend tlsB;
    static TestBackend http;
    static TestCertificates.Issued ca;
    static RunningSluice sluice;

    @BeforeAll
    static void start() throws Exception {
        ca = TestCertificates.ca("TCP CA");
        TestCertificates.Issued a = ca.issueServer("a.example", List.of("a.example"));
        TestCertificates.Issued b = ca.issueServer("wild.b.example", List.of("*.b.example"));
        ca.issueServer("front.example", List.of("front.example")).write(dir.resolve("front.pem"),
                dir.resolve("front.key"));
        one = EchoBackend.start("one");
        two = EchoBackend.start("two");
        proxied = EchoBackend.startWithProxyProtocol("pp2");
        proxiedV1 = EchoBackend.startWithProxyProtocol("pp1");
        tlsA = EchoBackend.startTls("a", SslContextBuilder.forServer(a.keys().getPrivate(), a.certificate()).build());
        tlsB = EchoBackend.startTls("b", SslContextBuilder.forServer(b.keys().getPrivate(), b.certificate()).build());
        http = TestBackend.start("http");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                io_threads: 2
                listeners:
                  - { name: echo, address: 127.0.0.1:0, protocol: tcp, pool: echo }
                  - { name: send-v2, address: 127.0.0.1:0, protocol: tcp, pool: pp2 }
                  - name: relay-v1
                    address: 127.0.0.1:0
                    protocol: tcp
                    pool: pp1
                    proxy_protocol: { accept_from: [ 127.0.0.1/32 ] }
                  - name: sni
                    address: 127.0.0.1:0
                    protocol: tcp
                    sni_routes:
                      - { server_names: [ a.example ], pool: tls-a }
                      - { server_names: [ "*.b.example" ], pool: tls-b }
                  - name: terminate
                    address: 127.0.0.1:0
                    protocol: tcp
                    tls: { certificate: %1$s/front.pem, private_key: %1$s/front.key }
                    pool: echo
                  - name: http-trusted
                    address: 127.0.0.1:0
                    proxy_protocol: { accept_from: [ 127.0.0.0/8 ] }
                    routes: [ { match: { path_prefix: / }, pool: http } ]
                  - name: http-untrusted
                    address: 127.0.0.1:0
                    proxy_protocol: { accept_from: [ 10.0.0.0/8 ] }
                    routes: [ { match: { path_prefix: / }, pool: http } ]
                pools:
                  - name: echo
                    policy: round-robin
                    retries: { attempts: 3 }
                    endpoints: [ { address: %2$s }, { address: %3$s }, { address: 127.0.0.1:1 } ]
                  - name: pp2
                    proxy_protocol: v2
                    endpoints: [ { address: %4$s } ]
                  - name: pp1
                    proxy_protocol: v1
                    endpoints: [ { address: %5$s } ]
                  - name: tls-a
                    endpoints: [ { address: %6$s } ]
                  - name: tls-b
                    endpoints: [ { address: %7$s } ]
                  - name: http
                    endpoints: [ { address: %8$s } ]
                """.formatted(dir, one.address(), two.address(), proxied.address(), proxiedV1.address(),
                tlsA.address(), tlsB.address(), http.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        for (AutoCloseable c : new AutoCloseable[] {one, two, proxied, proxiedV1, tlsA, tlsB, http}) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort
            }
        }
    }

    private static String echo(Socket s, String text) throws Exception {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
        byte[] back = new byte[text.length()];
        new DataInputStream(s.getInputStream()).readFully(back);
        return new String(back, StandardCharsets.UTF_8);
    }

    @Test
    void bytesRoundTripBalancedAndPastADeadEndpoint() throws Exception {
        int before = one.connections() + two.connections();
        for (int i = 0; i < 12; i++) {
            try (Socket s = new Socket("127.0.0.1", sluice.port("echo"))) {
                s.setSoTimeout(10_000);
                assertThat(echo(s, "ping " + i + "\n")).isEqualTo("ping " + i + "\n");
                assertThat(echo(s, "again")).isEqualTo("again");
            }
        }
        // Every connection reached a live endpoint, both of them in turn; the dead one only cost retries.
        assertThat(one.connections() + two.connections() - before).isEqualTo(12);
        assertThat(one.connections()).isGreaterThan(0);
        assertThat(two.connections()).isGreaterThan(0);
        assertThat(sluice.server().metrics().counterValue("sluice_tcp_connections_total", "listener", "echo",
                "result", "ok")).isGreaterThanOrEqualTo(12);
    }

    @Test
    void largeEchoWithBackpressure() throws Exception {
        long size = 16L << 20;
        try (Socket s = new Socket("127.0.0.1", sluice.port("echo"))) {
            s.setSoTimeout(20_000);
            Thread writer = new Thread(() -> {
                try (InputStream data = Bytes.stream(size, 9)) {
                    data.transferTo(s.getOutputStream());
                } catch (Exception e) {
                    // The reader's assertion reports it.
                }
            });
            writer.start();
            InputStream in = s.getInputStream();
            java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            long got = 0;
            while (got < size) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, size - got));
                assertThat(n).isPositive();
                sha.update(buf, 0, n);
                got += n;
            }
            writer.join(10_000);
            assertThat(java.util.HexFormat.of().formatHex(sha.digest())).isEqualTo(Bytes.sha256(size, 9));
        }
    }

    @Test
    void endpointReceivesACorrectProxyV2Header() throws Exception {
        try (Socket s = new Socket("127.0.0.1", sluice.port("send-v2"))) {
            s.setSoTimeout(10_000);
            assertThat(echo(s, "hello")).isEqualTo("hello");
            EchoBackend.Declared d = proxied.declared().get(proxied.declared().size() - 1);
            assertThat(d.version()).isEqualTo("V2");
            assertThat(d.sourceAddress()).isEqualTo("127.0.0.1");
            assertThat(d.sourcePort()).isEqualTo(s.getLocalPort());
            assertThat(d.destinationAddress()).isEqualTo("127.0.0.1");
            assertThat(d.destinationPort()).isEqualTo(sluice.port("send-v2"));
        }
    }

    @Test
    void proxyHeaderFromATrustedPeerIsPassedOn() throws Exception {
        try (Socket s = new Socket("127.0.0.1", sluice.port("relay-v1"))) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("PROXY TCP4 203.0.113.7 198.51.100.1 40000 443\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            assertThat(echo(s, "data")).isEqualTo("data");
            EchoBackend.Declared d = proxiedV1.declared().get(proxiedV1.declared().size() - 1);
            assertThat(d.version()).isEqualTo("V1");
            assertThat(d.sourceAddress()).isEqualTo("203.0.113.7");
            assertThat(d.sourcePort()).isEqualTo(40000);
            assertThat(d.destinationAddress()).isEqualTo("198.51.100.1");
            assertThat(d.destinationPort()).isEqualTo(443);
        }
        // A trusted peer must send the header: without one the connection is cut, nothing reaches the pool.
        int before = proxiedV1.connections();
        try (Socket s = new Socket("127.0.0.1", sluice.port("relay-v1"))) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write("GET / HTTP/1.1\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        }
        assertThat(proxiedV1.connections()).isEqualTo(before);
    }

    @Test
    void httpListenerUsesTheDeclaredClientOnlyFromTrustedPeers() throws Exception {
        String answer = RawHttp.exchange(sluice.port("http-trusted"), "PROXY TCP4 192.0.2.55 127.0.0.1 5555 80\r\n"
                + "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(answer).startsWith("HTTP/1.1 200");
        assertThat(http.seen().get(http.seen().size() - 1).headers().get("x-forwarded-for")).isEqualTo("192.0.2.55");
        String refused = RawHttp.exchange(sluice.port("http-untrusted"), "PROXY TCP4 192.0.2.55 127.0.0.1 5555 80\r\n"
                + "GET /who HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertThat(refused).startsWith("HTTP/1.1 400");
    }

    @Test
    void tlsPassthroughRoutesByServerName() throws Exception {
        assertThat(passthrough("a.example")).isEqualTo("CN=a.example");
        assertThat(passthrough("x.b.example")).isEqualTo("CN=wild.b.example");
        assertThat(tlsA.connections()).isGreaterThanOrEqualTo(1);
        assertThat(tlsB.connections()).isGreaterThanOrEqualTo(1);
        // No route for the name and no default pool: the connection is closed.
        try (SSLSocket s = (SSLSocket) ca.trustingContext().getSocketFactory().createSocket("127.0.0.1",
                sluice.port("sni"))) {
            s.setSoTimeout(5000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName("nobody.example")));
            s.setSSLParameters(p);
            org.assertj.core.api.Assertions.assertThatThrownBy(s::startHandshake)
                    .isInstanceOf(java.io.IOException.class);
        }
    }

    private static String passthrough(String serverName) throws Exception {
        try (SSLSocket s = (SSLSocket) ca.trustingContext().getSocketFactory().createSocket("127.0.0.1",
                sluice.port("sni"))) {
            s.setSoTimeout(10_000);
            SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(serverName)));
            s.setSSLParameters(p);
            s.startHandshake();
            assertThat(echo(s, "through " + serverName)).isEqualTo("through " + serverName);
            return ((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal().getName();
        }
    }

    @Test
    void tlsTerminatedInFrontOfATcpPool() throws Exception {
        try (SSLSocket s = (SSLSocket) ca.trustingContext().getSocketFactory().createSocket("127.0.0.1",
                sluice.port("terminate"))) {
            s.setSoTimeout(10_000);
            s.startHandshake();
            assertThat(((X509Certificate) s.getSession().getPeerCertificates()[0]).getSubjectX500Principal()
                    .getName()).isEqualTo("CN=front.example");
            assertThat(echo(s, "secret")).isEqualTo("secret");
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> sluice.server().metrics().counterValue(
                "sluice_tls_handshakes_total", "listener", "terminate", "result", "ok") >= 1);
    }

    @SuppressWarnings("unused")
    private static void unused() throws Exception {
        Files.size(dir);
        TimeUnit.SECONDS.toMillis(1);
    }
}
