package io.sluice.proxy.http;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestReplayTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String written(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            out.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out.toString();
    }

    @Test
    void keptChunksAreWrittenAgainForEachTryAndReleasedOnce() {
        RequestReplay replay = new RequestReplay(100, true);
        ByteBuf a = text("hello ");
        ByteBuf b = text("world");
        replay.add(a);
        replay.add(b);
        // The caller forwards (and so releases) its own references.
        a.release();
        b.release();
        assertThat(a.refCnt()).as("the replay holds a reference").isEqualTo(1);

        for (int i = 0; i < 2; i++) {
            EmbeddedChannel ch = new EmbeddedChannel();
            replay.writeTo(ch, false);
            ch.flush();
            assertThat(written(ch)).isEqualTo("hello world");
        }
        EmbeddedChannel chunked = new EmbeddedChannel();
        replay.writeTo(chunked, true);
        chunked.flush();
        assertThat(written(chunked)).isEqualTo("6\r\nhello \r\n5\r\nworld\r\n");

        assertThat(replay.intact()).isTrue();
        replay.release();
        replay.release();
        assertThat(a.refCnt()).isZero();
        assertThat(b.refCnt()).isZero();
        assertThat(replay.intact()).isFalse();
    }

    @Test
    void bodyPastTheLimitReleasesEverythingAndIsNoLongerReplayable() {
        RequestReplay replay = new RequestReplay(8, true);
        ByteBuf a = text("12345");
        replay.add(a);
        a.release();
        ByteBuf b = text("6789");
        replay.add(b);
        b.release();
        assertThat(replay.intact()).isFalse();
        assertThat(a.refCnt()).isZero();
        assertThat(b.refCnt()).isZero();

        ByteBuf c = text("x");
        replay.add(c);
        assertThat(c.refCnt()).as("nothing kept once over the limit").isEqualTo(1);
        c.release();
    }

    @Test
    void trailersAreKeptAndDisabledReplayKeepsNothing() {
        RequestReplay replay = new RequestReplay(100, true);
        ByteBuf trailers = text("x-check: 1\r\n");
        replay.end(trailers);
        trailers.release();
        ByteBuf copy = replay.trailersForWrite();
        assertThat(copy.toString(StandardCharsets.US_ASCII)).isEqualTo("x-check: 1\r\n");
        copy.release();
        replay.release();
        assertThat(trailers.refCnt()).isZero();

        RequestReplay off = new RequestReplay(100, false);
        ByteBuf d = text("data");
        off.add(d);
        assertThat(d.refCnt()).isEqualTo(1);
        assertThat(off.intact()).isFalse();
        d.release();
    }
}
