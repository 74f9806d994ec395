package io.sluice.proxy.http1;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Decodes one complete head (start line and fields, ending with the blank line) into an {@link Http1Head},
 * checking every rule of RFC 9112 §2-§7 that a recipient may enforce. Returns the first problem found.
 */
final class HeadDecoder {

    private static final byte CR = '\r';
    private static final byte LF = '\n';

    private final Http1Head head;
    private final ByteBuf buf;
    private final boolean request;
    private final int maxHeaders;
    private int status;

    HeadDecoder(Http1Head head, ByteBuf buf, boolean request, int maxHeaders) {
        this.head = head;
        this.buf = buf;
        this.request = request;
        this.maxHeaders = maxHeaders;
        this.status = request ? 400 : 502;
    }

    /** The status to answer with when {@link #decode()} found a problem. */
    int status() {
        return status;
    }

    /** Decodes the head; returns null if it is valid, or what is wrong with it. */
    String decode() {
        int end = buf.writerIndex();
        int pos = buf.readerIndex();
        int lf = buf.indexOf(pos, end, LF);
        if (lf <= pos || buf.getByte(lf - 1) != CR) {
            return "bare LF line ending";
        }
        String problem = request ? requestLine(pos, lf - 1) : statusLine(pos, lf - 1);
        if (problem != null) {
            return problem;
        }
        pos = lf + 1;
        int count = 0;
        while (true) {
            lf = buf.indexOf(pos, end, LF);
            if (lf < 0) {
                return "head not terminated";
            }
            if (lf == pos || buf.getByte(lf - 1) != CR) {
                return "bare LF line ending";
            }
            int lineEnd = lf - 1;
            if (lineEnd == pos) {
                break;
            }
            byte first = buf.getByte(pos);
            if (first == ' ' || first == '\t') {
                return count == 0 ? "whitespace between start line and first header field"
                        : "obsolete line folding in header field";
            }
            int colon = pos;
            while (colon < lineEnd && AsciiBytes.isToken(buf.getByte(colon))) {
                colon++;
            }
            if (colon == pos) {
                return "empty or invalid header field name";
            }
            if (colon == lineEnd || buf.getByte(colon) != ':') {
                byte bad = buf.getByte(colon);
                return bad == ' ' || bad == '\t' ? "whitespace before colon in header field '"
                        + AsciiBytes.string(buf, pos, colon) + "'" : "invalid character in header field name";
            }
            int vs = colon + 1;
            while (vs < lineEnd && isBlank(buf.getByte(vs))) {
                vs++;
            }
            int ve = lineEnd;
            while (ve > vs && isBlank(buf.getByte(ve - 1))) {
                ve--;
            }
            for (int k = vs; k < ve; k++) {
                if (!AsciiBytes.isFieldValueByte(buf.getByte(k))) {
                    return "invalid character in value of header field '" + AsciiBytes.string(buf, pos, colon) + "'";
                }
            }
            if (++count > maxHeaders) {
                status = request ? 431 : 502;
                return "more than " + maxHeaders + " header fields";
            }
            head.addField(pos, colon, vs, ve);
            pos = lf + 1;
        }
        return semantics();
    }

    private static boolean isBlank(byte b) {
        return b == ' ' || b == '\t';
    }

    private String requestLine(int s, int e) {
        int sp1 = s;
        while (sp1 < e && AsciiBytes.isToken(buf.getByte(sp1))) {
            sp1++;
        }
        if (sp1 == s || sp1 == e || buf.getByte(sp1) != ' ') {
            return "invalid request method";
        }
        int t = sp1 + 1;
        int sp2 = t;
        while (sp2 < e) {
            int c = buf.getByte(sp2) & 0xFF;
            if (c == ' ') {
                break;
            }
            if (c <= 0x20 || c >= 0x7F) {
                return "invalid character in request target";
            }
            sp2++;
        }
        if (sp2 == t) {
            return "empty request target";
        }
        if (sp2 == e) {
            return "request line without HTTP version";
        }
        int v = sp2 + 1;
        if (e - v != 8) {
            return "invalid HTTP version";
        }
        int minor = version(v);
        if (minor == -1) {
            return "invalid HTTP version";
        }
        if (minor == -2) {
            status = 505;
            return "HTTP major version not supported";
        }
        String method = Methods.of(buf, s, sp1);
        byte t0 = buf.getByte(t);
        boolean origin = t0 == '/';
        boolean asterisk = sp2 - t == 1 && t0 == '*';
        boolean absolute = isAbsolute(t, sp2);
        if (method.equals("CONNECT")) {
            if (origin || asterisk || absolute) {
                return "CONNECT needs an authority-form target";
            }
        } else if (asterisk && !method.equals("OPTIONS")) {
            return "asterisk-form target is for OPTIONS only";
        } else if (!origin && !asterisk && !absolute) {
            return "request target is not in origin, absolute or asterisk form";
        }
        head.requestLine(method, t, sp2, minor);
        return null;
    }

    private boolean startsWithHttp(int v) {
        return buf.getByte(v) == 'H' && buf.getByte(v + 1) == 'T' && buf.getByte(v + 2) == 'T'
                && buf.getByte(v + 3) == 'P' && buf.getByte(v + 4) == '/';
    }

    /** The minor version of "HTTP/x.y" at v (exactly, case-sensitive), -1 if malformed, -2 if major is not 1. */
    private int version(int v) {
        if (!startsWithHttp(v) || buf.getByte(v + 6) != '.') {
            return -1;
        }
        int major = buf.getByte(v + 5) - '0';
        int minor = buf.getByte(v + 7) - '0';
        if (major < 0 || major > 9 || minor < 0 || minor > 9) {
            return -1;
        }
        if (major != 1) {
            return -2;
        }
        return Math.min(minor, 1);
    }

    private boolean isAbsolute(int t, int end) {
        String prefix = AsciiBytes.string(buf, t, Math.min(end, t + 8)).toLowerCase(Locale.ROOT);
        return prefix.startsWith("http://") || prefix.startsWith("https://");
    }

    private String statusLine(int s, int e) {
        if (e - s < 12 || buf.getByte(s + 8) != ' ') {
            return "invalid status line";
        }
        int minor = version(s);
        if (minor < 0) {
            return "invalid status line version";
        }
        int code = 0;
        for (int i = s + 9; i < s + 12; i++) {
            int d = buf.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return "invalid status code";
            }
            code = code * 10 + d;
        }
        if (code < 100 || (e > s + 12 && buf.getByte(s + 12) != ' ')) {
            return "invalid status code";
        }
        for (int i = s + 12; i < e; i++) {
            if (!AsciiBytes.isFieldValueByte(buf.getByte(i))) {
                return "invalid character in reason phrase";
            }
        }
        head.statusLine(minor, code, Math.min(s + 13, e), e);
        return null;
    }

    private String semantics() {
        int contentLengths = 0;
        long contentLength = -1;
        int transferEncodings = 0;
        boolean chunked = false;
        boolean otherCoding = false;
        int hosts = 0;
        boolean close = false;
        boolean keepAlive = false;
        boolean upgrade = false;
        List<String> tokens = null;
        for (int i = 0; i < head.size(); i++) {
            if (head.nameIs(i, HeaderNames.CONTENT_LENGTH)) {
                long value = parseLength(head.valueStart(i), head.valueEnd(i));
                if (value < 0) {
                    return "invalid Content-Length '" + head.value(i) + "'";
                }
                if (contentLengths++ > 0 && (request || value != contentLength)) {
                    return "duplicate Content-Length";
                }
                contentLength = value;
            } else if (head.nameIs(i, HeaderNames.TRANSFER_ENCODING)) {
                transferEncodings++;
                List<String> codings = Http1Parser.listItems(head.value(i));
                if (request) {
                    if (transferEncodings > 1 || codings.size() != 1 || !codings.get(0).equals("chunked")) {
                        return "unsupported Transfer-Encoding '" + head.value(i) + "' (only a single chunked)";
                    }
                    chunked = true;
                } else {
                    for (int c = 0; c < codings.size(); c++) {
                        boolean last = c == codings.size() - 1;
                        if (codings.get(c).equals("chunked")) {
                            if (!last || chunked) {
                                return "chunked is not the final transfer coding";
                            }
                            chunked = true;
                        } else {
                            otherCoding = true;
                        }
                    }
                }
            } else if (head.nameIs(i, HeaderNames.HOST)) {
                if (hosts++ == 0) {
                    head.hostField(i);
                }
            } else if (head.nameIs(i, HeaderNames.CONNECTION)) {
                for (String token : Http1Parser.listItems(head.value(i))) {
                    switch (token) {
                        case "close" -> close = true;
                        case "keep-alive" -> keepAlive = true;
                        case "upgrade" -> upgrade = true;
                        default -> {
                            if (tokens == null) {
                                tokens = new ArrayList<>(2);
                            }
                            tokens.add(token);
                        }
                    }
                }
            } else if (request && head.nameIs(i, HeaderNames.EXPECT) && head.minorVersion() >= 1) {
                if (!head.value(i).equalsIgnoreCase("100-continue")) {
                    status = 417;
                    return "unsupported expectation '" + head.value(i) + "'";
                }
                head.expectContinue(true);
            }
        }
        if (request) {
            if (transferEncodings > 0 && head.minorVersion() == 0) {
                return "Transfer-Encoding in an HTTP/1.0 request";
            }
            if (transferEncodings > 0 && contentLengths > 0) {
                return "both Content-Length and Transfer-Encoding";
            }
            if (hosts > 1) {
                return "more than one Host header";
            }
            if (hosts == 0 && head.minorVersion() >= 1) {
                return "missing Host header";
            }
            if (hosts == 1 && !validHost(head.valueStart(head.hostField()), head.valueEnd(head.hostField()))) {
                return "invalid Host header '" + head.value(head.hostField()) + "'";
            }
            head.framing(chunked ? -1 : contentLength, chunked);
        } else {
            if (chunked) {
                // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); such a connection is not reused.
                head.framing(-1, true);
                close |= contentLengths > 0;
            } else if (otherCoding) {
                head.framing(-1, false);
                close = true;
            } else {
                head.framing(contentLength, false);
            }
        }
        head.connection(close, keepAlive, upgrade, tokens == null ? null : tokens.toArray(new String[0]));
        return null;
    }

    private long parseLength(int s, int e) {
        if (s == e || e - s > 18) {
            return -1;
        }
        long v = 0;
        for (int i = s; i < e; i++) {
            int d = buf.getByte(i) - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            v = v * 10 + d;
        }
        return v;
    }

    /** A Host value: uri-host [ ":" port ] (RFC 9110 §7.2), with no userinfo, path or whitespace. */
    private boolean validHost(int s, int e) {
        if (s == e) {
            return false;
        }
        int i = s;
        if (buf.getByte(i) == '[') {
            int close = buf.indexOf(i, e, (byte) ']');
            if (close < 0) {
                return false;
            }
            for (int k = i + 1; k < close; k++) {
                byte b = buf.getByte(k);
                if (!(Character.digit(b, 16) >= 0 || b == ':' || b == '.')) {
                    return false;
                }
            }
            i = close + 1;
        } else {
            while (i < e && buf.getByte(i) != ':') {
                if (!hostChar(buf.getByte(i))) {
                    return false;
                }
                i++;
            }
            if (i == s) {
                return false;
            }
        }
        if (i == e) {
            return true;
        }
        if (buf.getByte(i) != ':' || e - i - 1 > 5) {
            return false;
        }
        for (int k = i + 1; k < e; k++) {
            byte b = buf.getByte(k);
            if (b < '0' || b > '9') {
                return false;
            }
        }
        return true;
    }

    private static boolean hostChar(byte b) {
        return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '-' || b == '.'
                || b == '_' || b == '~' || b == '%' || b == '!' || b == '$' || b == '&' || b == '\'' || b == '('
                || b == ')' || b == '*' || b == '+' || b == ',' || b == ';' || b == '=';
    }

    /** Checks raw field lines (trailers): returns null if valid, or what is wrong. */
    static String checkFieldLines(ByteBuf lines) {
        int pos = lines.readerIndex();
        int end = lines.writerIndex();
        while (pos < end) {
            int lf = lines.indexOf(pos, end, LF);
            if (lf < 0 || lf == pos || lines.getByte(lf - 1) != CR) {
                return "bare LF line ending";
            }
            int lineEnd = lf - 1;
            byte first = lines.getByte(pos);
            if (first == ' ' || first == '\t') {
                return "obsolete line folding";
            }
            int colon = pos;
            while (colon < lineEnd && AsciiBytes.isToken(lines.getByte(colon))) {
                colon++;
            }
            if (colon == pos || colon == lineEnd || lines.getByte(colon) != ':') {
                return "invalid field name";
            }
            for (int k = colon + 1; k < lineEnd; k++) {
                if (!AsciiBytes.isFieldValueByte(lines.getByte(k))) {
                    return "invalid character in field value";
                }
            }
            pos = lf + 1;
        }
        return null;
    }
}
