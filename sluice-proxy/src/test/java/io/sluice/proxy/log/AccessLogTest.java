package io.sluice.proxy.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class AccessLogTest {

    @Test
    void writesOneJsonObjectPerLineWithEveryField() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AccessLog log = AccessLog.to(out);
        log.log(new AccessRecord(1_700_000_000_000L, "web", "127.0.0.1:5000", "GET", "/a?\"q\"", "example.com",
                200, 0, 42, 1_500_000, 1_000_000, "p", "10.0.0.1:80", 1, "id-1", "", "curl/8"));
        log.log(new AccessRecord(1_700_000_000_001L, "web", "127.0.0.1:5001", "POST", "/b", "example.com", 503,
                10, 0, 2_000_000, -1, "p", "", 2, "id-2", "upstream connect refused", ""));
        log.close();
        List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        JsonMapper json = JsonMapper.builder().build();
        JsonNode first = json.readTree(lines.get(0));
        assertThat(first.get("time").asString()).isEqualTo("2023-11-14T22:13:20Z");
        assertThat(first.get("target").asString()).isEqualTo("/a?\"q\"");
        assertThat(first.get("status").asInt()).isEqualTo(200);
        assertThat(first.get("duration_ms").asDouble()).isEqualTo(1.5);
        assertThat(first.get("upstream_ms").asDouble()).isEqualTo(1.0);
        assertThat(first.get("user_agent").asString()).isEqualTo("curl/8");
        assertThat(first.has("error")).isFalse();
        JsonNode second = json.readTree(lines.get(1));
        assertThat(second.get("error").asString()).isEqualTo("upstream connect refused");
        assertThat(second.has("upstream_ms")).isFalse();
        assertThat(second.get("attempts").asInt()).isEqualTo(2);
    }
}
