package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiRequestTest {

    private static OpenAiRequest parse(String json, boolean chat) throws OpenAiRequest.Invalid {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        return OpenAiRequest.parse(b, b.length, chat);
    }

    @Test
    void readsChatFieldsAndRendersMessagesAsTheSimulatorDoes() throws Exception {
        OpenAiRequest r = parse("""
                {"messages":[{"role":"system","content":"Be brief."},
                 {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                 "model":"llama-3-8b","stream":true,"max_tokens":12,"extra":{"a":[1,2,{"b":null}]}}""", true);
        assertThat(r.model()).isEqualTo("llama-3-8b");
        assertThat(r.stream()).isTrue();
        assertThat(r.maxTokens()).isEqualTo(12);
        assertThat(new String(r.prompt(), StandardCharsets.UTF_8))
                .isEqualTo("<|system|>\nBe brief.\n<|user|>\nHi there\n");
    }

    @Test
    void readsCompletionPromptsAndTokenIds() throws Exception {
        assertThat(new String(parse("{\"model\":\"m\",\"prompt\":\"abc\"}", false).prompt(),
                StandardCharsets.UTF_8)).isEqualTo("abc");
        OpenAiRequest ids = parse("{\"model\":\"m\",\"prompt\":[1,2,3],\"max_completion_tokens\":5}", false);
        assertThat(ids.promptTokens()).isEqualTo(3);
        assertThat(ids.prompt()).hasSize(12);
        assertThat(ids.maxTokens()).isEqualTo(5);
        assertThat(parse("{\"model\":\"e\",\"input\":[\"x\",\"y\"]}", false).promptTokens()).isEqualTo(1);
    }

    @Test
    void rewritesOnlyTheModelValue() throws Exception {
        String json = "{ \"stream\": false, \"model\" : \"ali\\\"as\", \"prompt\": \"model\" }";
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        OpenAiRequest r = OpenAiRequest.parse(b, b.length, false);
        assertThat(r.model()).isEqualTo("ali\"as");
        assertThat(new String(r.withModel(b, b.length, "llama-3-8b-v2"), StandardCharsets.UTF_8))
                .isEqualTo("{ \"stream\": false, \"model\" : \"llama-3-8b-v2\", \"prompt\": \"model\" }");
    }

    @Test
    void refusesMalformedBodiesNamingTheParameter() {
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"prompt\":", false))
                .isInstanceOf(OpenAiRequest.Invalid.class).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> parse("[1]", false)).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> parse("{\"prompt\":\"x\"}", false))
                .satisfies(e -> assertThat(((OpenAiRequest.Invalid) e).param()).contains("model"));
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"messages\":[]}", true))
                .satisfies(e -> assertThat(((OpenAiRequest.Invalid) e).param()).contains("messages"));
        assertThatThrownBy(() -> parse("{\"model\":7,\"prompt\":\"x\"}", false)).hasMessageContaining("model");
        assertThatThrownBy(() -> parse("{\"model\":\"m\",\"prompt\":\"x\"} {}", false))
                .hasMessageContaining("after the JSON object");
    }

    @Test
    void errorBodyHasOpenAiShape() {
        String body = new String(OpenAiError.unknownModel("x\"y", java.util.List.of("a", "b")).body(),
                StandardCharsets.UTF_8);
        assertThat(body).startsWith("{\"error\":{\"message\":\"The model 'x\\\"y' does not exist")
                .contains("\"type\":\"invalid_request_error\"", "\"param\":\"model\"", "\"code\":\"model_not_found\"");
    }

    @Test
    void observerFindsFirstSseEventAndFinalUsage() {
        ResponseObserver o = new ResponseObserver(true);
        assertThat(o.body(Unpooled.copiedBuffer(": keep-alive\n\nda", StandardCharsets.UTF_8))).isFalse();
        assertThat(o.body(Unpooled.copiedBuffer("ta: {\"choices\":[]}\n\n", StandardCharsets.UTF_8))).isTrue();
        assertThat(o.body(Unpooled.copiedBuffer("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
                + "\"completion_tokens\":3}}\r\n\r\ndata: [DONE]\n\n", StandardCharsets.UTF_8))).isFalse();
        assertThat(o.usage()).containsExactly(7, 3);
        ResponseObserver json = new ResponseObserver(false);
        json.body(Unpooled.copiedBuffer("{\"id\":\"x\",\"usage\":{\"completion_tokens\":4,\"prompt_tokens\":9}}",
                StandardCharsets.UTF_8));
        assertThat(json.usage()).containsExactly(9, 4);
    }
}
