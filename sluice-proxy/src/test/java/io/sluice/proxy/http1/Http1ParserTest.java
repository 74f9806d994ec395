package io.sluice.proxy.http1;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class Http1ParserTest {

    /** Records everything the parser reports, as text. */
    static final class Recorder implements Http1Parser.Listener {
        final List<Http1Head> heads = new ArrayList<>();
        final StringBuilder body = new StringBuilder();
        final List<String> trailers = new ArrayList<>();
        int ends;
        int errorStatus;
        String errorReason;

        @Override
        public void onHead(Http1Head head) {
            heads.add(head);
        }

        @Override
        public void onBody(ByteBuf content) {
            body.append(content.toString(StandardCharsets.ISO_8859_1));
            content.release();
        }

        @Override
        public void onEnd(ByteBuf t) {
            ends++;
            trailers.add(t.toString(StandardCharsets.ISO_8859_1));
            t.release();
        }

        @Override
        public void onError(int status, String reason) {
            errorStatus = status;
            errorReason = reason;
        }
    }

    private static Recorder parseRequest(String text) {
        Recorder r = new Recorder();
        Http1Parser p = new Http1Parser(true, r, ByteBufAllocator.DEFAULT, 8192, 65536, 100);
        ByteBuf in = Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1);
        p.parse(in);
        while (p.paused() && in.isReadable() && !p.failed()) {
            p.resume();
            p.parse(in);
        }
        in.release();
        return r;
    }

    @Test
    void parsesGetWithHeadersAsBytes() {
        Recorder r = parseRequest("GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nX-Test:  v1 \r\n\r\n");
        assertThat(r.errorReason).isNull();
        assertThat(r.heads).hasSize(1);
        Http1Head h = r.heads.get(0);
        assertThat(h.method()).isEqualTo("GET");
        assertThat(h.target()).isEqualTo("/a?b=1");
        assertThat(h.minorVersion()).isEqualTo(1);
        assertThat(h.get("x-test")).contains("v1");
        assertThat(h.value(h.hostField())).isEqualTo("example.com:8080");
        assertThat(h.keepAlive()).isTrue();
        assertThat(r.ends).isEqualTo(1);
        h.release();
    }

    @Test
    void readsContentLengthBody() {
        Recorder r = parseRequest("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
        assertThat(r.body.toString()).isEqualTo("hello");
        assertThat(r.ends).isEqualTo(1);
        r.heads.forEach(Http1Head::release);
    }

    @Test
    void readsChunkedBodyWithExtensionsAndTrailers() {
        Recorder r = parseRequest("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\n\r\n");
        assertThat(r.errorReason).isNull();
        assertThat(r.body.toString()).isEqualTo("hello world");
        assertThat(r.trailers).containsExactly("X-Checksum: 42\r\n");
        r.heads.forEach(Http1Head::release);
    }

    @Test
    void handlesInputOneByteAtATime() {
        String text = "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        Recorder r = new Recorder();
        Http1Parser p = new Http1Parser(true, r, ByteBufAllocator.DEFAULT, 8192, 65536, 100);
        ByteBuf cum = Unpooled.buffer();
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) {
            cum.writeByte(b);
            p.parse(cum);
        }
        assertThat(r.errorReason).isNull();
        assertThat(r.heads).hasSize(1);
        assertThat(r.body.toString()).isEqualTo("abc");
        assertThat(r.ends).isEqualTo(1);
        r.heads.forEach(Http1Head::release);
        cum.release();
    }

    @Test
    void pausesBetweenPipelinedRequests() {
        Recorder r = new Recorder();
        Http1Parser p = new Http1Parser(true, r, ByteBufAllocator.DEFAULT, 8192, 65536, 100);
        ByteBuf in = Unpooled.copiedBuffer("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
                StandardCharsets.US_ASCII);
        p.parse(in);
        assertThat(r.heads).hasSize(1);
        assertThat(p.paused()).isTrue();
        assertThat(in.isReadable()).isTrue();
        p.resume();
        p.parse(in);
        assertThat(r.heads).extracting(Http1Head::target).containsExactly("/1", "/2");
        r.heads.forEach(Http1Head::release);
        in.release();
    }

    @Test
    void http10DefaultsToClose() {
        Recorder r = parseRequest("GET / HTTP/1.0\r\n\r\n");
        assertThat(r.heads.get(0).keepAlive()).isFalse();
        Recorder k = parseRequest("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        assertThat(k.heads.get(0).keepAlive()).isTrue();
        r.heads.forEach(Http1Head::release);
        k.heads.forEach(Http1Head::release);
    }

    @Test
    void marksConnectionTokensHopByHop() {
        Recorder r = parseRequest("GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\n"
                + "Keep-Alive: 5\r\nX-Kept: 2\r\n\r\n");
        Http1Head h = r.heads.get(0);
        assertThat(h.connectionClose()).isTrue();
        List<String> forwarded = new ArrayList<>();
        for (int i = 0; i < h.size(); i++) {
            if (!h.hopByHop(i)) {
                forwarded.add(h.name(i));
            }
        }
        assertThat(forwarded).containsExactly("Host", "X-Kept");
        h.release();
    }

    static List<Arguments> malformedRequests() {
        return MalformedRequests.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRequests")
    void rejectsMalformedRequests(String name, int status, String text) {
        Recorder r = parseRequest(text);
        assertThat(r.errorStatus).as("status for: %s (%s)", name, r.errorReason).isEqualTo(status);
        // A request that fails in its head is never reported as a head, so nothing can be forwarded.
        if (!MalformedRequests.bodyLevel(name)) {
            assertThat(r.heads).as(name).isEmpty();
        }
        r.heads.forEach(Http1Head::release);
    }

    private static Recorder parseResponse(String text, boolean head) {
        Recorder r = new Recorder();
        Http1Parser p = new Http1Parser(false, r, ByteBufAllocator.DEFAULT, 8192, 65536, 100);
        p.expectNoBody(head);
        ByteBuf in = Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1);
        p.parse(in);
        p.inputClosed();
        in.release();
        return r;
    }

    @Test
    void responseFraming() {
        Recorder cl = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", false);
        assertThat(cl.body.toString()).isEqualTo("abc");
        assertThat(cl.ends).isEqualTo(1);

        Recorder close = parseResponse("HTTP/1.1 200 OK\r\n\r\nuntil close", false);
        assertThat(close.body.toString()).isEqualTo("until close");
        assertThat(close.ends).isEqualTo(1);

        Recorder head = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true);
        assertThat(head.ends).isEqualTo(1);
        assertThat(head.heads.get(0).contentLength()).isEqualTo(10);

        Recorder noContent = parseResponse("HTTP/1.1 204 No Content\r\n\r\n", false);
        assertThat(noContent.ends).isEqualTo(1);

        Recorder both = parseResponse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "2\r\nok\r\n0\r\n\r\n", false);
        assertThat(both.body.toString()).isEqualTo("ok");
        assertThat(both.heads.get(0).keepAlive()).as("not reused after conflicting framing").isFalse();

        Recorder interim = parseResponse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                false);
        assertThat(interim.heads).extracting(Http1Head::status).containsExactly(100, 200);
        assertThat(interim.body.toString()).isEqualTo("hi");

        Recorder bad = parseResponse("HTTP/1.1 2x0 OK\r\n\r\n", false);
        assertThat(bad.errorStatus).isEqualTo(502);
        for (Recorder r : List.of(cl, close, head, noContent, both, interim)) {
            r.heads.forEach(Http1Head::release);
        }
    }
}
