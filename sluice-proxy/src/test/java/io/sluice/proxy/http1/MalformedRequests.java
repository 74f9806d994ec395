package io.sluice.proxy.http1;

import java.util.List;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The malformed-request corpus: requests that two HTTP implementations could read differently (the raw material of
 * request smuggling), or that are simply broken. Each entry is (name, status Sluice must answer, raw request). The
 * parser test and the through-the-proxy test share it.
 */
public final class MalformedRequests {

    private MalformedRequests() {
    }

    /** Every vector. */
    public static List<Arguments> all() {
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


    /** True if the vector breaks the body framing rather than the head (the head is forwarded before it). */
    public static boolean bodyLevel(String name) {
        return name.startsWith("chunk") || name.startsWith("bad chunk") || name.startsWith("control char");
    }
}
