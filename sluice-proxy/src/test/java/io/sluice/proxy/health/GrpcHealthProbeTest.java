package io.sluice.proxy.health;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;

class GrpcHealthProbeTest {

    @Test
    void encodesTheRequestAsProtobufWithTheGrpcPrefix() {
        ByteBuf whole = GrpcHealthProbe.request("");
        assertThat(ByteBufUtil.hexDump(whole)).isEqualTo("0000000000");
        ByteBuf named = GrpcHealthProbe.request("a.B");
        // Not compressed, length 5, then field 1 (tag 0x0a), length 3, "a.B".
        assertThat(ByteBufUtil.hexDump(named)).isEqualTo("00000000050a03612e42");
    }

    @Test
    void readsTheServingStatus() {
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 2, 0x08, 1})))
                .isEqualTo(1);
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 2, 0x08, 2})))
                .isEqualTo(2);
        // An unknown length-delimited field before the status is skipped.
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 5, 0x12, 1, 'x',
            0x08, 1}))).isEqualTo(1);
        // The default (absent field) is UNKNOWN, 0.
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 0}))).isZero();
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {1, 0, 0, 0, 0})))
                .as("compressed: unreadable").isEqualTo(-1);
        assertThat(GrpcHealthProbe.servingStatus(Unpooled.wrappedBuffer(new byte[] {0, 0, 0, 0, 9, 8})))
                .as("truncated").isEqualTo(-1);
    }
}
