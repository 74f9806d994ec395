package io.sluice.proxy.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GrpcStatusTest {

    @Test
    void parsesGrpcTimeoutUnits() {
        assertThat(GrpcStatus.timeoutNanos("200m")).hasValue(200_000_000L);
        assertThat(GrpcStatus.timeoutNanos("1S")).hasValue(1_000_000_000L);
        assertThat(GrpcStatus.timeoutNanos("2M")).hasValue(120_000_000_000L);
        assertThat(GrpcStatus.timeoutNanos("1H")).hasValue(3_600_000_000_000L);
        assertThat(GrpcStatus.timeoutNanos("5u")).hasValue(5_000L);
        assertThat(GrpcStatus.timeoutNanos("7n")).hasValue(7L);
        assertThat(GrpcStatus.timeoutNanos("99999999H")).as("saturates").hasValue(Long.MAX_VALUE);
    }

    @Test
    void malformedTimeoutsCountAsAbsent() {
        assertThat(GrpcStatus.timeoutNanos("")).isEmpty();
        assertThat(GrpcStatus.timeoutNanos("m")).isEmpty();
        assertThat(GrpcStatus.timeoutNanos("10x")).isEmpty();
        assertThat(GrpcStatus.timeoutNanos("-1S")).isEmpty();
        assertThat(GrpcStatus.timeoutNanos("123456789S")).as("more than 8 digits").isEmpty();
    }

    @Test
    void proxyErrorsMapByMeaning() {
        assertThat(GrpcStatus.forProxyError(503, "no_endpoint")).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(GrpcStatus.forProxyError(503, "connect_timeout")).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(GrpcStatus.forProxyError(502, "upstream_reset")).isEqualTo(GrpcStatus.UNAVAILABLE);
        assertThat(GrpcStatus.forProxyError(504, "response_timeout")).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
        assertThat(GrpcStatus.forProxyError(504, "grpc_deadline")).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
        assertThat(GrpcStatus.forProxyError(503, "pending_timeout")).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
        assertThat(GrpcStatus.forProxyError(503, "max_requests_limit")).isEqualTo(GrpcStatus.RESOURCE_EXHAUSTED);
        assertThat(GrpcStatus.forProxyError(429, "rate")).isEqualTo(GrpcStatus.RESOURCE_EXHAUSTED);
        assertThat(GrpcStatus.forProxyError(404, "no_route")).isEqualTo(GrpcStatus.UNIMPLEMENTED);
    }

    @Test
    void messagesArePercentEncoded() {
        assertThat(GrpcStatus.percentEncode("a b%c")).isEqualTo("a b%25c");
        assertThat(GrpcStatus.percentEncode("é\n")).isEqualTo("%C3%A9%0A");
    }

    @Test
    void recognisesGrpcContentTypes() {
        assertThat(GrpcStatus.isGrpc("application/grpc")).isTrue();
        assertThat(GrpcStatus.isGrpc("application/grpc+proto")).isTrue();
        assertThat(GrpcStatus.isGrpc("Application/GRPC")).isTrue();
        assertThat(GrpcStatus.isGrpc("application/json")).isFalse();
        assertThat(GrpcStatus.isGrpc(null)).isFalse();
    }
}
