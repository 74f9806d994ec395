package io.sluice.sim.server;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error as the OpenAI API returns it: {@code {"error": {"message", "type", "param", "code"}}}.
 *
 * @param status  the HTTP status
 * @param type    {@code invalid_request_error}, {@code not_found_error}, {@code server_error}, ...
 * @param message what went wrong, for a person
 * @param param   the request field at fault, or "" for none
 * @param code    a machine-readable code, or "" for none
 */
record OpenAiError(HttpResponseStatus status, String type, String message, String param, String code) {

    static OpenAiError badRequest(String message, String param) {
        return new OpenAiError(HttpResponseStatus.BAD_REQUEST, "invalid_request_error", message, param, "");
    }

    /** The JSON body. */
    Map<String, Object> body() {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("message", message);
        error.put("type", type);
        error.put("param", param.isEmpty() ? null : param);
        error.put("code", code.isEmpty() ? null : code);
        return Map.of("error", error);
    }

    /** Thrown while reading a request to answer with this error. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final transient OpenAiError error;

        Failure(OpenAiError error) {
            super(error.message(), null, false, false);
            this.error = error;
        }

        OpenAiError error() {
            return error;
        }
    }
}
