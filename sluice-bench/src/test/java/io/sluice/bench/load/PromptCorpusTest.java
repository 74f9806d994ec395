package io.sluice.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class PromptCorpusTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private static JsonNode parse(ByteBuf body) {
        try {
            return JSON.readTree(body.toString(StandardCharsets.UTF_8));
        } finally {
            body.release();
        }
    }

    @Test
    void bodyIsAStreamingChatRequestWithThePromptSize() {
        PromptCorpus corpus = new PromptCorpus("llama-3-8b", 225_280, 0.5, 8, 4, 1);
        JsonNode body = parse(corpus.body(0));
        assertThat(body.path("model").asString()).isEqualTo("llama-3-8b");
        assertThat(body.path("stream").asBoolean()).isTrue();
        assertThat(body.path("max_tokens").asInt()).isEqualTo(4);
        JsonNode messages = body.path("messages");
        assertThat(messages.get(0).path("role").asString()).isEqualTo("system");
        assertThat(messages.get(1).path("role").asString()).isEqualTo("user");
        int prompt = messages.get(0).path("content").asString().length()
                + messages.get(1).path("content").asString().length();
        assertThat(prompt).isEqualTo(225_280);
        assertThat(messages.get(0).path("content").asString()).hasSize(112_640);
    }

    @Test
    void requestsOfAGroupShareTheSystemPromptAndAreAllDistinct() {
        PromptCorpus corpus = new PromptCorpus("m", 10_000, 0.75, 3, 1, 7);
        JsonNode a = parse(corpus.body(0));
        JsonNode b = parse(corpus.body(3));
        JsonNode c = parse(corpus.body(1));
        String systemA = a.path("messages").get(0).path("content").asString();
        assertThat(b.path("messages").get(0).path("content").asString()).isEqualTo(systemA);
        assertThat(c.path("messages").get(0).path("content").asString()).isNotEqualTo(systemA);
        assertThat(a.path("messages").get(1).path("content").asString()).startsWith("request 0: ")
                .isNotEqualTo(b.path("messages").get(1).path("content").asString());
    }

    @Test
    void rejectsBadSettings() {
        assertThatThrownBy(() -> new PromptCorpus("m", 10, 0.5, 1, 1, 1)).hasMessageContaining("at least 64");
        assertThatThrownBy(() -> new PromptCorpus("m", 1000, 1.0, 1, 1, 1)).hasMessageContaining("prefix share");
        assertThatThrownBy(() -> new PromptCorpus("m\"", 1000, 0.5, 1, 1, 1)).hasMessageContaining("escaping");
    }
}
