package io.sluice.bench.inference;

import io.netty.buffer.ByteBuf;
import io.sluice.bench.load.PromptCorpus;
import io.sluice.inference.PromptHasher;
import io.sluice.proxy.inference.OpenAiRequest;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.ObjectReadContext;
import tools.jackson.core.json.JsonFactory;

/**
 * What the inference stage spends on a request body before it can pick an endpoint: parsing an OpenAI chat body
 * ({@link OpenAiRequest#parse}) and hashing its rendered prompt into blocks ({@link PromptHasher#hash}), for the
 * 220 KB prompts of the end-to-end overhead test (the same bodies as {@code TtftLoad} sends).
 *
 * <p>{@code baseline} does the same work the way the stage first did it, kept here for a same-run ratio: every
 * string decoded by Jackson, appended to a {@code StringBuilder} and encoded back to UTF-8, then hashed. (The first
 * implementation also hashed each 64-byte block with a new seeded XXH3 function, deriving a 192-byte secret per
 * call; {@link PromptHasher} now chains through one unseeded function, and so does this baseline.)
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgs = {"-Xms1g", "-Xmx1g"})
public class RequestBodyBenchmark {

    private static final JsonFactory JSON = new JsonFactory();

    @Param({"225280"})
    public int promptBytes;

    private byte[] body;

    @Setup
    public void setUp() {
        ByteBuf buf = new PromptCorpus("llama-3-8b", promptBytes, 0.5, 8, 4, 1).body(1);
        body = new byte[buf.readableBytes()];
        buf.readBytes(body);
        buf.release();
    }

    @Benchmark
    public long[] parseAndHash() throws OpenAiRequest.Invalid {
        OpenAiRequest r = OpenAiRequest.parse(body, body.length, true);
        return PromptHasher.hash(r.prompt());
    }

    @Benchmark
    public byte[] parseOnly() throws OpenAiRequest.Invalid {
        return OpenAiRequest.parse(body, body.length, true).prompt();
    }

    @Benchmark
    public long[] hashOnly() {
        return PromptHasher.hash(body, 0, promptBytes);
    }

    @Benchmark
    public long[] baseline() {
        StringBuilder b = new StringBuilder();
        try (JsonParser p = JSON.createParser(ObjectReadContext.empty(), body, 0, body.length)) {
            p.nextToken();
            String name;
            while ((name = p.nextName()) != null) {
                JsonToken t = p.nextToken();
                if (!name.equals("messages")) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    String role = null;
                    String content = null;
                    String field;
                    while ((field = p.nextName()) != null) {
                        p.nextToken();
                        if (field.equals("role")) {
                            role = p.getString();
                        } else if (field.equals("content")) {
                            content = p.getString();
                        } else {
                            p.skipChildren();
                        }
                    }
                    b.append("<|").append(role).append("|>\n").append(content).append('\n');
                }
            }
        }
        return PromptHasher.hash(b.toString().getBytes(StandardCharsets.UTF_8));
    }
}
