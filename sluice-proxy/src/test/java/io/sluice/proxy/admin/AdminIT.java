package io.sluice.proxy.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin API's changes to pools, its errors, and its bearer token. */
class AdminIT {

    @Test
    void addsDrainsEnablesAndRemovesEndpoints() {
        try (TestBackend a = TestBackend.start("a"); TestBackend b = TestBackend.start("b");
             RunningSluice sluice = RunningSluice.start("""
                     access_log: { path: off }
                     admin: { address: 127.0.0.1:0 }
                     listeners:
                       - name: web
                         address: 127.0.0.1:0
                         routes: [ { match: { path_prefix: / }, pool: p } ]
                     pools:
                       - name: p
                         endpoints: [ { address: %s } ]
                     """.formatted(a.address()))) {
            HttpResponse<String> added = sluice.admin("POST", "/api/v1/pools/p/endpoints",
                    "{\"address\":\"" + b.address() + "\",\"weight\":2}");
            assertThat(added.statusCode()).isEqualTo(201);
            for (int i = 0; i < 6; i++) {
                sluice.get("web", "/");
            }
            assertThat(b.seen()).isNotEmpty();

            assertThat(sluice.admin("POST", "/api/v1/pools/p/endpoints/" + b.address() + "/drain", null)
                    .statusCode()).isEqualTo(200);
            assertThat(sluice.admin("GET", "/api/v1/pools/p", null).body()).contains("\"state\":\"draining\"");
            int seenByB = b.seen().size();
            for (int i = 0; i < 6; i++) {
                assertThat(sluice.get("web", "/").body()).isEqualTo("a");
            }
            assertThat(b.seen()).hasSize(seenByB);

            assertThat(sluice.admin("POST", "/api/v1/pools/p/endpoints/" + b.address() + "/enable", null)
                    .statusCode()).isEqualTo(200);
            assertThat(sluice.admin("PUT", "/api/v1/pools/p/endpoints/" + b.address() + "/weight",
                    "{\"weight\":5}").body()).contains("\"weight\":5");
            assertThat(sluice.admin("DELETE", "/api/v1/pools/p/endpoints/" + b.address(), null).statusCode())
                    .isEqualTo(200);
            assertThat(sluice.admin("GET", "/api/v1/pools/p", null).body()).doesNotContain(b.address());
        }
    }

    @Test
    void answersBadRequestsWithClearErrors() {
        try (RunningSluice sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - { name: p, endpoints: [ { address: 127.0.0.1:9 } ] }
                """)) {
            assertThat(sluice.admin("GET", "/api/v1/pools/nope", null).statusCode()).isEqualTo(404);
            HttpResponse<String> badJson = sluice.admin("POST", "/api/v1/pools/p/endpoints", "{not json");
            assertThat(badJson.statusCode()).isEqualTo(400);
            assertThat(badJson.body()).contains("invalid JSON");
            HttpResponse<String> badPort = sluice.admin("POST", "/api/v1/pools/p/endpoints",
                    "{\"address\":\"127.0.0.1:70000\"}");
            assertThat(badPort.statusCode()).isEqualTo(400);
            assertThat(badPort.body()).contains("port 70000 is out of range");
            HttpResponse<String> dup = sluice.admin("POST", "/api/v1/pools/p/endpoints",
                    "{\"address\":\"127.0.0.1:9\"}");
            assertThat(dup.statusCode()).isEqualTo(400);
            assertThat(dup.body()).contains("already in pool p");
            assertThat(sluice.admin("PUT", "/api/v1/pools/p/endpoints/127.0.0.1:9/weight", "{\"weight\":0}")
                    .statusCode()).isEqualTo(400);
            assertThat(sluice.admin("DELETE", "/api/v1/pools/p/endpoints/127.0.0.1:10", null).statusCode())
                    .isEqualTo(404);
            assertThat(sluice.admin("GET", "/api/v1/reload", null).statusCode()).isEqualTo(405);
            assertThat(sluice.admin("GET", "/", null).body()).contains("<title>Sluice</title>");
        }
    }

    @Test
    void requiresTheBearerTokenWhenOneIsSet(@TempDir Path dir) throws Exception {
        Path token = dir.resolve("token");
        Files.writeString(token, "s3cret\n");
        try (RunningSluice sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0, token_file: %s }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - { name: p, optional: true, endpoints: [] }
                """.formatted(token))) {
            assertThat(sluice.admin("GET", "/healthz", null).statusCode()).isEqualTo(200);
            assertThat(sluice.admin("GET", "/api/v1/pools", null).statusCode()).isEqualTo(401);
            String base = "http://127.0.0.1:" + sluice.server().adminPort();
            HttpResponse<String> wrong = sluice.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .header("Authorization", "Bearer nope").build());
            assertThat(wrong.statusCode()).isEqualTo(401);
            HttpResponse<String> right = sluice.send(HttpRequest.newBuilder(URI.create(base + "/readyz"))
                    .header("Authorization", "Bearer s3cret").build());
            assertThat(right.statusCode()).isEqualTo(200);
        }
    }
}
