package io.sluice.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The health and resilience keys: defaults, the keys added for outlier decay and breakers, and their errors. */
class ResilienceConfigTest {

    private static PoolConfig pool(String poolBody) throws ConfigException {
        String yaml = """
                listeners:
                  - { name: web, address: 127.0.0.1:0, routes: [ { match: { path_prefix: / }, pool: p } ] }
                pools:
                  - name: p
                    endpoints: [ { address: 127.0.0.1:9001 } ]
                """ + poolBody.indent(4);
        return SluiceConfig.parse(yaml, "test.yaml", Path.of(".")).pools().get(0);
    }

    @Test
    void defaultsFollowEnvoy() throws ConfigException {
        PoolConfig p = pool("outlier_detection: {}\nlimits: {}\n");
        OutlierConfig o = p.outlierDetection().orElseThrow();
        assertThat(o.consecutiveErrors()).isEqualTo(5);
        assertThat(o.baseEjection()).isEqualTo(Duration.ofSeconds(30));
        assertThat(o.maxEjection()).isEqualTo(Duration.ofSeconds(300));
        assertThat(o.maxEjectionPercent()).isEqualTo(10);
        assertThat(o.interval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(p.limits()).isEqualTo(LimitsConfig.DEFAULT);
        assertThat(p.limits().retryAfter()).isEqualTo(Duration.ofSeconds(1));
        assertThat(p.limits().maxRequestsPerEndpoint()).isZero();
    }

    @Test
    void newKeysAreRead() throws ConfigException {
        PoolConfig p = pool("""
                outlier_detection: { consecutive_gateway_errors: 2, interval: 5s }
                limits: { max_requests_per_endpoint: 50, retry_after: 3s, max_pending: 0 }
                """);
        assertThat(p.outlierDetection().orElseThrow().interval()).isEqualTo(Duration.ofSeconds(5));
        assertThat(p.outlierDetection().orElseThrow().consecutiveGatewayErrors()).isEqualTo(2);
        assertThat(p.limits().maxRequestsPerEndpoint()).isEqualTo(50);
        assertThat(p.limits().retryAfter()).isEqualTo(Duration.ofSeconds(3));
        assertThat(p.limits().maxPending()).isZero();
    }

    @Test
    void badValuesAreReportedWithTheirPath() {
        assertThatThrownBy(() -> pool("""
                outlier_detection: { base_ejection: 1m, max_ejection: 10s, interval: 0s }
                limits: { retry_after: 100ms }
                """))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("pools[0].outlier_detection.max_ejection")
                .hasMessageContaining("pools[0].outlier_detection.interval")
                .hasMessageContaining("pools[0].limits.retry_after");
    }
}
