package io.sluice.proxy.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.config.ConfigException;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.proxy.runtime.ProxyRuntime;
import io.sluice.time.ManualClock;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TcpRoutesTest {

    private static ProxyRuntime runtime(String listener) throws ConfigException {
        return ProxyRuntime.build(SluiceConfig.parse("""
                listeners:
                  - name: edge
                    address: 127.0.0.1:0
                    protocol: tcp
                    %s
                pools:
                  - { name: a, endpoints: [ { address: 127.0.0.1:1001 } ] }
                  - { name: b, endpoints: [ { address: 127.0.0.1:1002 } ] }
                  - { name: c, endpoints: [ { address: 127.0.0.1:1003 } ] }
                """.formatted(listener), "test", Path.of(".")), Optional.empty(), ManualClock.start());
    }

    private static String route(TcpRoutes routes, String name) {
        return routes.route(Optional.ofNullable(name)).map(PoolRuntime::name).orElse("none");
    }

    @Test
    void exactNamesBeatWildcardsWhicheverComesFirst() throws Exception {
        TcpRoutes routes = runtime("""
                sni_routes:
                      - { server_names: [ "*.example.com" ], pool: b }
                      - { server_names: [ api.example.com, API2.example.com ], pool: a }
                    pool: c""").tcpRoutes("edge").orElseThrow();
        assertThat(routes.bySni()).isTrue();
        assertThat(route(routes, "api.example.com")).isEqualTo("a");
        assertThat(route(routes, "Api2.Example.com")).isEqualTo("a");
        assertThat(route(routes, "www.example.com")).isEqualTo("b");
        assertThat(route(routes, "a.b.example.com")).as("a wildcard covers one label").isEqualTo("c");
        assertThat(route(routes, "example.com")).isEqualTo("c");
        assertThat(route(routes, null)).as("no SNI").isEqualTo("c");
    }

    @Test
    void withoutAFallbackPoolAnUnknownNameGoesNowhere() throws Exception {
        TcpRoutes routes = runtime("""
                sni_routes: [ { server_names: [ a.test ], pool: a } ]""").tcpRoutes("edge").orElseThrow();
        assertThat(route(routes, "a.test")).isEqualTo("a");
        assertThat(route(routes, "b.test")).isEqualTo("none");
    }

    @Test
    void aPlainTcpListenerDoesNotReadTheClientHello() throws Exception {
        TcpRoutes routes = runtime("pool: b").tcpRoutes("edge").orElseThrow();
        assertThat(routes.bySni()).isFalse();
        assertThat(route(routes, "anything")).isEqualTo("b");
    }
}
