package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

class PromptBufferTest {

    private static final JsonFactory JSON = new JsonFactory();

    /** Renders every string value of a JSON array both ways: raw-copy fast path and the parser's decoding. */
    private static void assertSameAsDecoding(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        PromptBuffer fast = new PromptBuffer(4);
        StringBuilder slow = new StringBuilder();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, body.length)) {
            assertThat(p.nextToken()).isEqualTo(JsonToken.START_ARRAY);
            while (p.nextToken() == JsonToken.VALUE_STRING) {
                fast.appendString(p, body, body.length);
            }
        }
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, body.length)) {
            p.nextToken();
            while (p.nextToken() == JsonToken.VALUE_STRING) {
                slow.append(p.getString());
            }
        }
        assertThat(new String(fast.toByteArray(), StandardCharsets.UTF_8)).isEqualTo(slow.toString());
        assertThat(fast.toByteArray()).isEqualTo(slow.toString().getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void plainAsciiIsCopiedAndEverythingElseDecodedToTheSameBytes() {
        assertSameAsDecoding("[\"hello world, this is a long enough plain ascii string\", \"x\", \"\"]");
        assertSameAsDecoding("[\"tab\\there and a quote \\\" and a backslash \\\\ in the middle of text\"]");
        assertSameAsDecoding("[\"unicode escape \\u00e9 and raw é, ü, 日本語 and an emoji 😀 in a longer text\"]");
        assertSameAsDecoding("[\"eight...\", \"exactly sixteen!\", \"ends with escape\\n\"]");
    }

    @Test
    void randomStringsRenderExactlyAsTheParserDecodesThem() {
        SplittableRandom random = new SplittableRandom(7);
        String[] pieces = {"a", "lorem ipsum ", "\\n", "\\\"", "\\\\", "\\u0041", "é", "日本", "😀", "~", "\\t",
            "0123456789abcdef", "/", "\\/"};
        for (int round = 0; round < 500; round++) {
            StringBuilder json = new StringBuilder("[");
            int strings = 1 + random.nextInt(4);
            for (int s = 0; s < strings; s++) {
                json.append(s == 0 ? "\"" : ", \"");
                int n = random.nextInt(40);
                for (int i = 0; i < n; i++) {
                    json.append(pieces[random.nextInt(pieces.length)]);
                }
                json.append('"');
            }
            assertSameAsDecoding(json.append(']').toString());
        }
    }

    @Test
    void plainEndFindsTheClosingQuoteOrGivesUp() {
        byte[] plain = "0123456789abcdefghij\"rest".getBytes(StandardCharsets.US_ASCII);
        assertThat(PromptBuffer.plainEnd(plain, 0, plain.length)).isEqualTo(20);
        byte[] escaped = "0123456789abc\\\"defghij\"".getBytes(StandardCharsets.US_ASCII);
        assertThat(PromptBuffer.plainEnd(escaped, 0, escaped.length)).isEqualTo(-1);
        byte[] control = "0123456789\u0001bcdefghij\"".getBytes(StandardCharsets.US_ASCII);
        assertThat(PromptBuffer.plainEnd(control, 0, control.length)).isEqualTo(-1);
        byte[] unicode = "0123456789é bcdefghij\"".getBytes(StandardCharsets.UTF_8);
        assertThat(PromptBuffer.plainEnd(unicode, 0, unicode.length)).isEqualTo(-1);
        byte[] unterminated = "0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII);
        assertThat(PromptBuffer.plainEnd(unterminated, 0, unterminated.length)).isEqualTo(-1);
    }
}
