package io.sluice.proxy.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.sluice.proxy.http1.Http1Writer;
import io.sluice.proxy.log.AccessRecord;
import java.nio.charset.StandardCharsets;

/**
 * The responses Sluice writes itself: a short plain-text error (JSON in OpenAI's shape on inference routes) with the
 * request id and, for 503 and 429, a Retry-After.
 */
final class ErrorResponses {

    private ErrorResponses() {
    }

    /** Writes (without flushing) an error response to the client. */
    static void write(Http1ServerHandler client, int code, String reason, boolean keepAlive, String requestId,
                      String retryAfter) {
        write(client, code, "text/plain; charset=utf-8", (reason + "\n").getBytes(StandardCharsets.UTF_8), keepAlive,
                requestId, retryAfter);
    }

    /** Writes (without flushing) an error response with a body of the given type (JSON on OpenAI routes). */
    static void write(Http1ServerHandler client, int code, String contentType, byte[] body, boolean keepAlive,
                      String requestId, String retryAfter) {
        ByteBuf out = client.ctx().alloc().buffer(160 + body.length);
        Http1Writer.statusLine(out, code);
        Http1Writer.field(out, "Content-Type", contentType);
        Http1Writer.contentLength(out, body.length);
        Http1Writer.field(out, "x-request-id", requestId);
        if (retryAfter != null) {
            Http1Writer.field(out, "Retry-After", retryAfter);
        }
        if (!keepAlive) {
            Http1Writer.connectionClose(out);
        }
        Http1Writer.endHead(out);
        out.writeBytes(body);
        client.ctx().write(out, client.ctx().voidPromise());
    }

    /** Writes an error response for a request that never became an exchange, logs it, and closes. */
    static void sendStandalone(Http1ServerHandler client, int code, String reason) {
        client.closeAfterResponse();
        write(client, code, reason, false, RequestIds.generate(), null);
        client.ctx().writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        client.listener().accessLog().ifPresent(log -> log.log(new AccessRecord(
                client.listener().clock().currentTimeMillis(), client.listener().name(), client.clientAddress(), "",
                "", "", code, 0, 0, 0, -1, "", "", 0, "", reason, "")));
    }
}
