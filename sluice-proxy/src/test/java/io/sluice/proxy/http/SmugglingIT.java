package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.proxy.http1.MalformedRequests;
import io.sluice.proxy.testing.RawHttp;
import io.sluice.proxy.testing.RunningSluice;
import io.sluice.proxy.testing.TestBackend;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Every vector of the malformed-request corpus, sent through a real listener: each gets its 4xx and none reaches a
 * backend as a complete request. Head-level vectors never reach it at all; body-level ones (a bad chunk) are found
 * after the head was streamed, so the upstream connection is closed before the request completes.
 */
class SmugglingIT {

    private static TestBackend backend;
    private static RunningSluice sluice;

    @BeforeAll
    static void start() {
        backend = TestBackend.start("victim");
        sluice = RunningSluice.start("""
                access_log: { path: off }
                admin: { address: 127.0.0.1:0 }
                listeners:
                  - name: web
                    address: 127.0.0.1:0
                    routes: [ { match: { path_prefix: / }, pool: p } ]
                pools:
                  - name: p
                    endpoints: [ { address: %s } ]
                """.formatted(backend.address()));
    }

    @AfterAll
    static void stop() {
        sluice.close();
        backend.close();
    }

    @Test
    void everyMalformedRequestIsRefusedAndNeverCompletesAtABackend() throws Exception {
        List<Arguments> corpus = MalformedRequests.all();
        int bodyLevel = 0;
        int answered400 = 0;
        for (Arguments a : corpus) {
            String name = (String) a.get()[0];
            int status = (Integer) a.get()[1];
            String request = (String) a.get()[2];
            int headsBefore = backend.heads();
            String answer = RawHttp.exchange(sluice.port("web"), request);
            assertThat(answer).as(name).startsWith("HTTP/1.1 " + status + " ");
            assertThat(answer).as(name).contains("Connection: close");
            if (MalformedRequests.bodyLevel(name)) {
                bodyLevel++;
            } else {
                assertThat(backend.heads()).as("backend saw the head of: " + name).isEqualTo(headsBefore);
            }
            if (status == 400) {
                answered400++;
            }
        }
        assertThat(corpus).hasSizeGreaterThanOrEqualTo(40);
        assertThat(answered400).isGreaterThanOrEqualTo(20);
        assertThat(backend.seen()).as("complete requests at the backend").isEmpty();
        assertThat(backend.heads()).isLessThanOrEqualTo(bodyLevel);
        // After all that, the proxy still serves a well-formed request.
        assertThat(sluice.get("web", "/ok").statusCode()).isEqualTo(200);
    }
}
