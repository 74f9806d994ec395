package io.sluice.proxy.http;

import io.sluice.proxy.http1.Http1Head;
import io.sluice.proxy.route.Router;
import io.sluice.proxy.runtime.PoolAffinity;
import java.util.Locale;
import java.util.Optional;

/**
 * What routing and endpoint affinity read from a request head: the target split into path and query, the host
 * (from an absolute-form target or the {@code Host} header), the headers, and the client's IP key.
 */
final class ParsedRequest implements Router.Request, PoolAffinity.Request {

    private final Http1Head head;
    private final long clientIpKey;
    private String path = "";
    private String query = "";
    private String host = "";
    private String authority = "";
    private String originTarget;
    private boolean hostFromUri;

    private ParsedRequest(Http1Head head, long clientIpKey) {
        this.head = head;
        this.clientIpKey = clientIpKey;
    }

    /** Parses the target of a request head; empty if it is not a valid target. */
    static Optional<ParsedRequest> of(Http1Head head, long clientIpKey) {
        ParsedRequest r = new ParsedRequest(head, clientIpKey);
        return r.parseTarget() ? Optional.of(r) : Optional.empty();
    }

    /** Splits the target into path and query; takes host and path from an absolute-form target. */
    private boolean parseTarget() {
        String target = head.target();
        int hostField = head.hostField();
        String hostHeader = hostField >= 0 ? head.value(hostField) : "";
        String rest = target;
        if (target.charAt(0) != '/' && target.charAt(0) != '*') {
            int schemeEnd = target.indexOf("://");
            int pathStart = target.indexOf('/', schemeEnd + 3);
            authority = pathStart < 0 ? target.substring(schemeEnd + 3) : target.substring(schemeEnd + 3, pathStart);
            if (authority.isEmpty() || authority.indexOf('@') >= 0) {
                return false;
            }
            rest = pathStart < 0 ? "/" : target.substring(pathStart);
            originTarget = rest;
            hostFromUri = true;
        } else {
            authority = hostHeader;
        }
        int q = rest.indexOf('?');
        path = q < 0 ? rest : rest.substring(0, q);
        query = q < 0 ? "" : rest.substring(q + 1);
        String h = authority;
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            h = close > 0 ? h.substring(0, close + 1) : h;
        } else {
            int colon = h.lastIndexOf(':');
            h = colon >= 0 ? h.substring(0, colon) : h;
        }
        host = h.toLowerCase(Locale.ROOT);
        return true;
    }

    @Override
    public String method() {
        return head.method();
    }

    @Override
    public String path() {
        return path;
    }

    @Override
    public String host() {
        return host;
    }

    @Override
    public Optional<String> header(String lowerName) {
        return head.get(lowerName);
    }

    @Override
    public String rawQuery() {
        return query;
    }

    @Override
    public long clientIpKey() {
        return clientIpKey;
    }

    /** The authority: from an absolute-form target, else the Host header (may be empty). */
    String authority() {
        return authority;
    }

    /** The origin-form target to send upstream when the client sent an absolute-form one, else null. */
    String originTarget() {
        return originTarget;
    }

    /** True if the host came from an absolute-form target. */
    boolean hostFromUri() {
        return hostFromUri;
    }
}
