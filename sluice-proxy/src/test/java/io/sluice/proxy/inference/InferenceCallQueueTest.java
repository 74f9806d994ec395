package io.sluice.proxy.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ImmediateEventExecutor;
import io.sluice.balance.PickContext;
import io.sluice.config.SluiceConfig;
import io.sluice.endpoint.Address;
import io.sluice.endpoint.Member;
import io.sluice.inference.ServerMetrics;
import io.sluice.proxy.metrics.ProxyMetrics;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.time.ManualClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Queued requests as their owner (the HTTP exchange) sees them: across a reload that changes the pool's flow control
 * (a new central queue) they follow the pool in force and wait there under its timeout; a request that ends frees
 * its place for the next one at once. No sockets; the owner is a stub and the clock is manual.
 */
class InferenceCallQueueTest {

    private final ManualClock clock = ManualClock.start();
    private final ProxyMetrics metrics = new ProxyMetrics();

    private PoolRuntime pool(Optional<PoolRuntime> previous, String timeout, int endpoints) throws Exception {
        StringBuilder yaml = new StringBuilder("listeners: []\npools:\n  - name: llm\n    policy: inference\n"
                + "    inference: { flow_control: { max_queue: 100, queue_timeout: " + timeout + " } }\n"
                + "    endpoints: [");
        for (int i = 0; i < endpoints; i++) {
            yaml.append(i == 0 ? "" : ", ").append("{ address: \"10.0.0.").append(i + 1).append(":8000\" }");
        }
        yaml.append("]\n");
        return PoolRuntime.build(SluiceConfig.parse(yaml.toString(), "t", Path.of(".")).pools().get(0), previous,
                clock);
    }

    private void publish(PoolRuntime p, int endpoints, int waiting) {
        for (int i = 0; i < endpoints; i++) {
            p.inference().orElseThrow().fleet().publish(Address.parse("10.0.0." + (i + 1) + ":8000"),
                    new ServerMetrics(waiting, 8, 0.5, 0, 0, Set.of(), 0, clock.nanoTime()));
        }
    }

    final class Owner implements InferenceCall.Owner {
        boolean finished;
        final List<Member> dispatched = new ArrayList<>();
        final List<OpenAiError> answers = new ArrayList<>();
        long wake = Long.MAX_VALUE;
        EventExecutor executor = ImmediateEventExecutor.INSTANCE;

        public EventExecutor executor() {
            return executor;
        }

        public long now() {
            return clock.nanoTime();
        }

        public boolean finished() {
            return finished;
        }

        public void answer(OpenAiError error) {
            answers.add(error);
            finished = true;
        }

        public void forwardBody(ByteBuf body) {
            body.release();
        }

        public void dispatched(Member member) {
            dispatched.add(member);
        }

        public void waitUntil(long deadlineNanos) {
            wake = deadlineNanos;
        }
    }

    private InferenceCall call(PoolRuntime p, Owner owner) {
        byte[] body = "{\"model\":\"m\",\"prompt\":\"hello\",\"max_tokens\":4}".getBytes(StandardCharsets.UTF_8);
        InferenceCall c = InferenceCall.start(p.inference().orElseThrow(), owner, new PickContext(), metrics,
                "/v1/completions", body.length, h -> Optional.empty()).orElseThrow();
        c.body(Unpooled.wrappedBuffer(body));
        return c;
    }

    @Test
    void aMovedRequestWaitsUnderTheNewTimeoutAndItsTimerFiresOnlyAtItsDeadline() throws Exception {
        PoolRuntime first = pool(Optional.empty(), "1s", 2);
        publish(first, 2, 50);
        long t0 = clock.nanoTime();
        Owner owner = new Owner();
        InferenceCall c = call(first, owner);
        c.bodyEnd();
        assertThat(c.waiting()).isTrue();
        clock.advance(Duration.ofMillis(900));
        PoolRuntime second = pool(Optional.of(first), "2s", 2);   // flow_control changed: new queue
        publish(second, 2, 50);
        second.activate(Optional.of(first));                       // moveTo
        assertThat(second.inference().orElseThrow().queue().size()).isEqualTo(1);
        // Drive the exchange's timer as Exchange.checkTimeouts does.
        int wakeups = 0;
        long next = owner.wake;
        while (next != Long.MAX_VALUE && wakeups < 100_000) {
            clock.advance(Duration.ofNanos(Math.max(0, next - clock.nanoTime())));
            next = c.checkQueue(clock.nanoTime());
            wakeups++;
        }
        assertThat(wakeups).as("timer wake-ups for one queued request").isLessThan(10);
        // Refused with a 429 two seconds (the new timeout) after the move.
        assertThat(owner.answers).hasSize(1);
        assertThat(owner.answers.get(0).message()).contains("waited 2000 ms");
        assertThat((clock.nanoTime() - t0) / 1_000_000).isEqualTo(2900);
    }

    @Test
    void aRequestWhoseBodyEndsAfterTheReloadQueuesInThePoolInForce() throws Exception {
        PoolRuntime first = pool(Optional.empty(), "30s", 2);
        publish(first, 2, 50);
        Owner owner = new Owner();
        InferenceCall c = call(first, owner);                    // body still arriving during the reload
        PoolRuntime second = pool(Optional.of(first), "20s", 2);  // flow_control changed: new queue
        publish(second, 2, 50);
        second.activate(Optional.of(first));
        c.bodyEnd();
        assertThat(c.waiting()).isTrue();
        assertThat(second.inference().orElseThrow().queue().size()).as("queued in the new pool").isEqualTo(1);
        assertThat(first.inference().orElseThrow().queue().size()).isZero();
        // Capacity frees; the scraper paces the pools of the runtime in force.
        clock.advance(Duration.ofMillis(100));
        publish(second, 2, 0);
        second.inference().orElseThrow().dispatchQueued(10);
        second.inference().orElseThrow().expireQueued();
        assertThat(owner.dispatched).as("dispatched once endpoints are free").hasSize(1);
    }

    @Test
    void aClientThatLeavesAfterItsPickFreesThePlaceForTheNextQueuedRequestAtOnce() throws Exception {
        PoolRuntime p = pool(Optional.empty(), "30s", 1);
        InferencePool pool = p.inference().orElseThrow();
        publish(p, 1, 50);   // saturated: requests queue
        // An event loop that runs what is handed to it only when told: a pick stays on its way to the loop.
        io.netty.channel.embedded.EmbeddedChannel loop = new io.netty.channel.embedded.EmbeddedChannel();
        Owner a = new Owner();
        a.executor = loop.eventLoop();
        Owner b = new Owner();
        b.executor = loop.eventLoop();
        InferenceCall first = call(p, a);
        first.bodyEnd();
        InferenceCall second = call(p, b);
        second.bodyEnd();
        assertThat(pool.queue().size()).isEqualTo(2);
        publish(p, 1, 0);
        pool.dispatchQueued(1);   // room for one: the first is picked, its hand-over to the loop pending
        assertThat(pool.queue().size()).isEqualTo(1);
        a.finished = true;        // its client leaves before the loop runs the hand-over
        first.end();
        assertThat(pool.queue().size()).as("the place the first one had is taken at once").isZero();
        loop.runPendingTasks();
        assertThat(b.dispatched).hasSize(1);
        assertThat(a.dispatched).isEmpty();
        loop.finishAndReleaseAll();
    }
}
