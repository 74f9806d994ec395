package io.sluice.proxy.inference;

import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.Optional;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.json.JsonFactory;

/**
 * An error Sluice answers itself on an OpenAI route, in OpenAI's shape:
 * {@code {"error": {"message", "type", "param", "code"}}}, so that OpenAI clients show the message.
 *
 * @param status     the HTTP status
 * @param message    what went wrong, for people
 * @param type       OpenAI's error type ({@code invalid_request_error}, ...)
 * @param param      the request parameter at fault, if any
 * @param code       a machine-readable code
 * @param retryAfter seconds for {@code Retry-After}, if the client should come back
 * @param reason     the {@code reason} label of {@code sluice_proxy_errors_total}
 */
public record OpenAiError(int status, String message, String type, Optional<String> param, String code,
                          Optional<String> retryAfter, String reason) {

    private static final JsonFactory JSON = new JsonFactory();

    /** 400: the body is not a valid request. */
    static OpenAiError badRequest(String message, Optional<String> param) {
        return new OpenAiError(400, message, "invalid_request_error", param, "invalid_request", Optional.empty(),
                "bad_request");
    }

    /** 413: the body is larger than {@code max_body_bytes}. */
    static OpenAiError tooLarge(long limit) {
        return new OpenAiError(413, "the request body is larger than " + limit + " bytes (inference.max_body_bytes)",
                "invalid_request_error", Optional.empty(), "request_too_large", Optional.empty(),
                "body_too_large");
    }

    /** 404: no endpoint of the pool serves the model. */
    static OpenAiError unknownModel(String model, List<String> served) {
        return new OpenAiError(404, "The model '" + model + "' does not exist or is not served here. Served models: "
                + String.join(", ", served), "invalid_request_error", Optional.of("model"), "model_not_found",
                Optional.empty(), "model_not_found");
    }

    /** 429: a sheddable request under saturation, or the queue wait ran out. */
    static OpenAiError overloaded(String message, long retryAfterSeconds, String reason) {
        return new OpenAiError(429, message, "rate_limit_error", Optional.empty(), "overloaded",
                Optional.of(Long.toString(retryAfterSeconds)), reason);
    }

    /** 503: the queue is full, or the request was pushed out of it. */
    static OpenAiError unavailable(String message, long retryAfterSeconds, String reason) {
        return new OpenAiError(503, message, "server_error", Optional.empty(), "service_unavailable",
                Optional.of(Long.toString(retryAfterSeconds)), reason);
    }

    /**
     * Any other error Sluice answers on an OpenAI route (no usable endpoint, upstream failures, time-outs), in
     * OpenAI's shape, with the proxy's reason as its code.
     */
    public static OpenAiError forProxyError(int status, String message, String reason) {
        String type = status == 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
        return new OpenAiError(status, message, type, Optional.empty(), reason, Optional.empty(), reason);
    }

    /** The JSON body. */
    public byte[] body() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
        try (JsonGenerator g = JSON.createGenerator(ObjectWriteContext.empty(), out)) {
            g.writeStartObject();
            g.writeName("error");
            g.writeStartObject();
            g.writeStringProperty("message", message);
            g.writeStringProperty("type", type);
            if (param.isPresent()) {
                g.writeStringProperty("param", param.get());
            } else {
                g.writeNullProperty("param");
            }
            g.writeStringProperty("code", code);
            g.writeEndObject();
            g.writeEndObject();
        }
        out.write('\n');
        return out.toByteArray();
    }
}
