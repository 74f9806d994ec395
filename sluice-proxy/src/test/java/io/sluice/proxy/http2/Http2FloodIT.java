package io.sluice.proxy.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * HTTP/2 abuse from a raw-socket attacker while well-behaved clients keep being served: the rapid-reset flood
 * (CVE-2023-44487) and CONTINUATION floods (header blocks that never end) are cut off with GOAWAY and counted; the
 * advertised settings carry the stream limit.
 */
class Http2FloodIT {

    private static final byte[] PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADERS = 0x1;
    private static final int RST_STREAM = 0x3;
    private static final int SETTINGS = 0x4;
    private static final int GOAWAY = 0x7;
    private static final int CONTINUATION = 0x9;
    private static final int ENHANCE_YOUR_CALM = 0xb;
    /** GET / with :scheme http, :authority x (HPACK static table entries and one literal). */
    private static final byte[] REQUEST_BLOCK = {(byte) 0x82, (byte) 0x86, (byte) 0x84, 0x41, 0x01, 'x'};

    static TestBackend backend;
    static RunningSluice sluice;

    @BeforeAll
    static void start() {
        backend = TestBackend.start("calm");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    http2: { max_resets: 100, reset_window: 30s }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                  - name: pinged
                    address: 127.0.0.1:0
                    http2: { ping_interval: 200ms, ping_timeout: 200ms }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                  - name: idle
                    address: 127.0.0.1:0
                    timeouts: { idle: 300ms }
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                """.formatted(backend.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        backend.close();
    }

    /** A frame read from the server. */
    private record Frame(int type, int flags, int stream, byte[] payload) {
    }

    /** A raw HTTP/2 connection: frames written by hand, nothing validated on our side. */
    private static final class RawH2 implements AutoCloseable {
        final Socket socket;
        final OutputStream out;
        final DataInputStream in;

        RawH2(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
            out.write(PREFACE);
            frame(SETTINGS, 0, 0, new byte[0]);
        }

        void frame(int type, int flags, int stream, byte[] payload) throws IOException {
            byte[] f = new byte[9 + payload.length];
            f[0] = (byte) (payload.length >>> 16);
            f[1] = (byte) (payload.length >>> 8);
            f[2] = (byte) payload.length;
            f[3] = (byte) type;
            f[4] = (byte) flags;
            f[5] = (byte) (stream >>> 24);
            f[6] = (byte) (stream >>> 16);
            f[7] = (byte) (stream >>> 8);
            f[8] = (byte) stream;
            System.arraycopy(payload, 0, f, 9, payload.length);
            out.write(f);
        }

        Frame read() throws IOException {
            int length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & Integer.MAX_VALUE;
            byte[] payload = new byte[length];
            in.readFully(payload);
            return new Frame(type, flags, stream, payload);
        }

        /** Reads until GOAWAY or the end of the connection; returns the GOAWAY's error code, or -1. */
        int goAwayCode() throws IOException {
            for (int i = 0; i < 100_000; i++) {
                Frame f;
                try {
                    f = read();
                } catch (EOFException | SocketException | SocketTimeoutException e) {
                    return -1;
                }
                if (f.type() == GOAWAY) {
                    return (f.payload()[4] & 0xFF) << 24 | (f.payload()[5] & 0xFF) << 16
                            | (f.payload()[6] & 0xFF) << 8 | f.payload()[7] & 0xFF;
                }
            }
            return -1;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** Well-behaved HTTP/2 traffic on its own connection for as long as the attack runs; counts answers. */
    private static final class Bystander implements AutoCloseable {
        final AtomicBoolean running = new AtomicBoolean(true);
        final AtomicInteger ok = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final ExecutorService thread = Executors.newSingleThreadExecutor();
        final CompletableFuture<Void> done;

        Bystander() {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
            done = CompletableFuture.runAsync(() -> {
                for (int i = 0; i < 100_000 && running.get(); i++) {
                    try {
                        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(sluice.url("web")
                                + "/ok")).timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
                        (r.statusCode() == 200 ? ok : failed).incrementAndGet();
                    } catch (IOException e) {
                        failed.incrementAndGet();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
            }, thread);
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            done.get(20, TimeUnit.SECONDS);
            thread.shutdownNow();
        }
    }

    @Test
    void advertisesTheStreamLimit() throws Exception {
        try (RawH2 c = new RawH2(sluice.port("web"))) {
            Frame f = c.read();
            assertThat(f.type()).isEqualTo(SETTINGS);
            int maxStreams = -1;
            for (int i = 0; i + 6 <= f.payload().length; i += 6) {
                int id = (f.payload()[i] & 0xFF) << 8 | f.payload()[i + 1] & 0xFF;
                int value = (f.payload()[i + 2] & 0xFF) << 24 | (f.payload()[i + 3] & 0xFF) << 16
                        | (f.payload()[i + 4] & 0xFF) << 8 | f.payload()[i + 5] & 0xFF;
                if (id == 0x3) {
                    maxStreams = value;
                }
            }
            assertThat(maxStreams).isEqualTo(100);
        }
    }

    @Test
    void rapidResetFloodIsCutOffWhileOthersAreServed() throws Exception {
        double before = protections("rapid_reset");
        try (Bystander others = new Bystander(); RawH2 attacker = new RawH2(sluice.port("web"))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > 5);
            try {
                for (int stream = 1; stream < 2 * 5000; stream += 2) {
                    attacker.frame(HEADERS, 0x4, stream, REQUEST_BLOCK);
                    attacker.frame(RST_STREAM, 0, stream, new byte[] {0, 0, 0, 0x8});
                }
            } catch (SocketException e) {
                // Cut off mid-flood: expected.
            }
            assertThat(attacker.goAwayCode()).isEqualTo(ENHANCE_YOUR_CALM);
            int served = others.ok.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > served + 20);
            assertThat(others.failed.get()).isZero();
        }
        assertThat(protections("rapid_reset")).isEqualTo(before + 1);
    }

    @Test
    void continuationFloodOfSmallFramesIsCutOff() throws Exception {
        double before = protections("continuation_flood");
        try (Bystander others = new Bystander(); RawH2 attacker = new RawH2(sluice.port("web"))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > 5);
            try {
                attacker.frame(HEADERS, 0, 1, REQUEST_BLOCK);
                for (int i = 0; i < 100_000; i++) {
                    attacker.frame(CONTINUATION, 0, 1, new byte[0]);
                }
            } catch (SocketException e) {
                // Cut off mid-flood: expected.
            }
            assertThat(attacker.goAwayCode()).isEqualTo(ENHANCE_YOUR_CALM);
            int served = others.ok.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > served + 20);
            assertThat(others.failed.get()).isZero();
        }
        assertThat(protections("continuation_flood")).isEqualTo(before + 1);
    }

    @Test
    void headerBlockThatNeverEndsHitsTheHeaderListLimit() throws Exception {
        double before = protections("header_list_too_large");
        try (Bystander others = new Bystander(); RawH2 attacker = new RawH2(sluice.port("web"))) {
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > 5);
            // Literal header fields without indexing, 4 KiB values, in 16 KiB CONTINUATION frames.
            ByteArrayOutputStream field = new ByteArrayOutputStream();
            field.write(0x00);
            field.write(0x01);
            field.write('a');
            field.write(0x7f);
            field.write(0x81);
            field.write(0x1f);
            field.writeBytes("v".repeat(4096).getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = field.toByteArray();
            ByteArrayOutputStream block = new ByteArrayOutputStream();
            for (int i = 0; i < 3; i++) {
                block.writeBytes(chunk);
            }
            try {
                attacker.frame(HEADERS, 0, 1, REQUEST_BLOCK);
                for (int i = 0; i < 1000; i++) {
                    attacker.frame(CONTINUATION, 0, 1, block.toByteArray());
                }
            } catch (SocketException e) {
                // Cut off mid-flood: expected.
            }
            assertThat(attacker.goAwayCode()).isNotEqualTo(-1);
            int served = others.ok.get();
            await().atMost(Duration.ofSeconds(10)).until(() -> others.ok.get() > served + 20);
            assertThat(others.failed.get()).isZero();
        }
        assertThat(protections("header_list_too_large")).isEqualTo(before + 1);
    }

    @Test
    void unansweredPingClosesTheConnection() throws Exception {
        try (RawH2 silent = new RawH2(sluice.port("pinged"))) {
            boolean pinged = false;
            for (int i = 0; i < 100 && !pinged; i++) {
                pinged = silent.read().type() == 0x6;
            }
            assertThat(pinged).as("server sent PING").isTrue();
            silent.goAwayCode();
            assertThat(silent.socket.getInputStream().read()).as("closed").isEqualTo(-1);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> protections("pinged", "ping_timeout") >= 1);
    }

    @Test
    void idleConnectionIsClosed() throws Exception {
        long t0 = System.nanoTime();
        try (RawH2 idle = new RawH2(sluice.port("idle"))) {
            assertThat(idle.goAwayCode()).isZero();
        }
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isBetween(250L, 5000L);
        await().atMost(Duration.ofSeconds(5)).until(() -> protections("idle", "idle_timeout") >= 1);
    }

    private static double protections(String reason) {
        return protections("web", reason);
    }

    private static double protections(String listener, String reason) {
        return sluice.server().metrics().counterValue("sluice_http2_protections_total", "listener", listener,
                "reason", reason);
    }
}
