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

    /** Requests that two HTTP implementations could read differently, or that are simply broken. */
    static List<Arguments> malformedRequests() {
        return List.of(
                Arguments.of("CL and TE both", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("TE and CL both, reversed", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
                Arguments.of("duplicate CL, different", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
                Arguments.of("duplicate CL, same", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd"),
                Arguments.of("CL list", 400, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 4\r\n\r\nabcd"),
                Arguments.of("CL with sign", 400, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd"),
                Arguments.of("CL hex", 400, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x4\r\n\r\nabcd"),
                Arguments.of("CL huge", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n"),
                Arguments.of("TE xchunked", 400, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n"),
                Arguments.of("TE chunked twice in a list", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"),
                Arguments.of("TE gzip, chunked", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                Arguments.of("TE twice", 400, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
                        + "Transfer-Encoding: identity\r\n\r\n"),
                Arguments.of("space before colon", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("TE on HTTP/1.0", 400,
                        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                Arguments.of("obs-fold", 400, "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n"),
                Arguments.of("obs-fold hiding TE", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n"),
                Arguments.of("whitespace after request line", 400, "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
                Arguments.of("bare LF in head", 400, "GET / HTTP/1.1\nHost: a\n\n"),
                Arguments.of("bare CR in value", 400, "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r2\r\n\r\n"),
                Arguments.of("NUL in value", 400, "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\u00002\r\n\r\n"),
                Arguments.of("missing Host", 400, "GET / HTTP/1.1\r\n\r\n"),
                Arguments.of("two Hosts", 400, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
                Arguments.of("Host with userinfo", 400, "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
                Arguments.of("Host with path", 400, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
                Arguments.of("empty Host", 400, "GET / HTTP/1.1\r\nHost:\r\n\r\n"),
                Arguments.of("bad chunk size", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"),
                Arguments.of("chunk size with trailing space", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n"),
                Arguments.of("chunk size overflow", 400, "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked"
                        + "\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n"),
                Arguments.of("chunk data longer than size", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n"),
                Arguments.of("chunk size bare LF", 400,
                        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n"),
                Arguments.of("control char in chunk extension", 400, "POST / HTTP/1.1\r\nHost: a\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n3;a\u0001b\r\nabc\r\n0\r\n\r\n"),
                Arguments.of("two spaces in request line", 400, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("lower-case version", 400, "GET / http/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("junk after version", 400, "GET / HTTP/1.1 x\r\nHost: a\r\n\r\n"),
                Arguments.of("space in target", 400, "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("non-ASCII in target", 400, "GET /\u00e9 HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("relative target", 400, "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("asterisk with GET", 400, "GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("invalid method char", 400, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("invalid header name", 400, "GET / HTTP/1.1\r\nHost: a\r\nX[A]: 1\r\n\r\n"),
                Arguments.of("empty header name", 400, "GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n"),
                Arguments.of("HTTP/2.0 line", 505, "GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
                Arguments.of("unknown expectation", 417, "POST / HTTP/1.1\r\nHost: a\r\nExpect: magic\r\n\r\n"),
                Arguments.of("long request line", 414, "GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: a\r\n\r\n"),
                Arguments.of("huge header", 431, "GET / HTTP/1.1\r\nHost: a\r\nX-A: " + "b".repeat(70000) + "\r\n\r\n"),
                Arguments.of("too many headers", 431, "GET / HTTP/1.1\r\nHost: a\r\n" + "X-A: 1\r\n".repeat(101)
                        + "\r\n"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformedRequests")
    void rejectsMalformedRequests(String name, int status, String text) {
        Recorder r = parseRequest(text);
        assertThat(r.errorStatus).as("status for: %s (%s)", name, r.errorReason).isEqualTo(status);
        // A request that fails in its head is never reported as a head, so nothing can be forwarded.
        if (!name.startsWith("chunk") && !name.startsWith("bad chunk") && !name.startsWith("control char")) {
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
