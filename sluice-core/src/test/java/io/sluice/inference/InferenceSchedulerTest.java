package io.sluice.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.sluice.balance.NoEndpointException.Reason;
import io.sluice.balance.PickContext;
import io.sluice.config.InferenceConfig;
import io.sluice.endpoint.Member;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class InferenceSchedulerTest {

    /** Reports one first token so the fleet trusts its own prefill account. */
    private static void enableFeedback(Fleet f) {
        InferenceExchange x = InferenceExchange.of(Fleet.request(999, 0, 999, 1));
        f.pick(x);
        x.firstToken(f.clock.nanoTime());
        x.finished(f.clock.nanoTime());
    }

    private static void settle(Fleet f, InferenceExchange x) {
        x.firstToken(f.clock.nanoTime());
        x.finished(f.clock.nanoTime());
    }

    @Test
    void followsThePrefixWhenServersAreIdle() {
        Fleet f = new Fleet("inference", 4);
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        InferenceExchange first = InferenceExchange.of(Fleet.request(1, 40, 1, 50));
        int holder = f.pick(first);
        settle(f, first);
        for (int i = 0; i < 5; i++) {
            InferenceExchange x = InferenceExchange.of(Fleet.request(1, 40, 100 + i, 50));
            assertThat(f.pick(x)).isEqualTo(holder);
            assertThat(x.cachedTokens()).isEqualTo(40 * 16);
            assertThat(x.uncachedTokens()).isEqualTo(10 * 16);
            settle(f, x);
        }
    }

    @Test
    void loadGuardStaysWhileTheQueueCostsLessThanTheCachedPrefixThenSpreads() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        enableFeedback(f);
        InferenceExchange warm = InferenceExchange.of(Fleet.request(1, 100, 1, 100));
        int holder = f.pick(warm);
        settle(f, warm);
        Member other = f.members.get(1 - holder);
        // The prefix saves 100 blocks = 1600 tokens. Each load request adds 800 tokens of prefill the holder owes.
        List<Integer> picks = new ArrayList<>();
        for (int load = 0; load <= 3; load++) {
            InferenceExchange probe = InferenceExchange.of(Fleet.request(1, 100, 1000 + load, 110));
            picks.add(f.pick(probe));
            settle(f, probe);
            if (picks.get(load) != holder) {
                break;
            }
            InferenceExchange busy = InferenceExchange.of(Fleet.request(50 + load, 0, 50 + load, 50));
            f.pool.select(new PickContext().exclude(other).attach(busy));   // lands on the holder, prefill owed
        }
        // 0, 800 and 1600 owed tokens: cheaper (or as cheap) to stay; 2400 owed: the prefix is worth less.
        assertThat(picks).containsExactly(holder, holder, holder, 1 - holder);
        // The other server now holds the prefix too.
        assertThat(f.state.indexedBlocks(other.address())).isGreaterThanOrEqualTo(100);
    }

    /**
     * Two idle servers; the returned one holds a 100-block prefix and owes 2,400 tokens of prefill (three 50-block
     * requests without first tokens), enough for the load guard to send the next request of that prefix to the
     * other server (see the test above).
     */
    private static int busyHolder(Fleet f) {
        f.publishAll(0, 0, 0);
        enableFeedback(f);
        InferenceExchange warm = InferenceExchange.of(Fleet.request(1, 100, 1, 100));
        int holder = f.pick(warm);
        settle(f, warm);
        Member other = f.members.get(1 - holder);
        for (int i = 0; i < 3; i++) {
            f.pool.select(new PickContext().exclude(other).attach(
                    InferenceExchange.of(Fleet.request(50 + i, 0, 50 + i, 50))));
        }
        return holder;
    }

    /** A request of the held prefix (100 blocks cached, 10 new) with a TTFT objective. */
    private static InferenceExchange withObjective(long own, long sloMillis) {
        InferenceRequest r = Fleet.request(1, 100, own, 110);
        return InferenceExchange.of(new InferenceRequest(r.model(), r.adapter(), r.blockHashes(), r.promptTokens(),
                r.maxTokens(), r.session(), r.priority(), r.tenant(), sloMillis, r.stream()));
    }

    /**
     * Whether a request of the held prefix with this objective (0: none) goes to the busy holder of
     * {@link #busyHolder} rather than the other server, after waiting this long since its first try.
     */
    private static boolean goesToTheHolder(long sloMillis, long waitedMillis) {
        Fleet f = new Fleet("inference", 2);
        int holder = busyHolder(f);
        InferenceExchange x = withObjective(1000, sloMillis);
        if (waitedMillis > 0) {
            x.waitedNanos(f.clock.nanoTime());   // first tried (and queued) now
            f.clock.advance(Duration.ofMillis(waitedMillis));
        }
        return f.pick(x) == holder;
    }

    @Test
    void aRequestWithATtftObjectiveStaysOnItsPrefixWhileTheHolderMeetsIt() {
        // At the assumed 10,000 tokens/s the holder's first token is 2,400 + 224 tokens away (262 ms; it matches
        // 96 blocks, the index keeping every 8th), the other server's 1,760 (176 ms): the holder is outside the load
        // guard's band, but within a 400 ms objective.
        assertThat(goesToTheHolder(0, 0)).isFalse();
        Fleet g = new Fleet("inference", 2);
        int held = busyHolder(g);
        InferenceExchange x = withObjective(1000, 400);
        assertThat(g.pick(x)).isEqualTo(held);
        assertThat(x.cachedTokens()).isEqualTo(96 * 16);   // the index keeps every 8th block
    }

    @Test
    void anObjectiveOnlyAnotherServerMeetsSendsTheRequestThere() {
        // 200 ms: the holder (262 ms) misses it, the other server (176 ms) meets it.
        assertThat(goesToTheHolder(200, 0)).isFalse();
        // 100 ms: nobody meets it; the load guard decides as without an objective.
        assertThat(goesToTheHolder(100, 0)).isFalse();
    }

    @Test
    void timeAlreadyWaitedCountsAgainstTheObjective() {
        // 400 ms with nothing waited: the holder (262 ms) meets it (as above). After 200 ms in a queue, 200 ms are
        // left: only the other server (176 ms) meets it.
        assertThat(goesToTheHolder(400, 0)).isTrue();
        assertThat(goesToTheHolder(400, 200)).isFalse();
    }

    @Test
    void aBurstBetweenScrapesSpreadsInsteadOfHerding() {
        Fleet f = new Fleet("inference", 4);
        f.publishAll(0, 0, 0.2);
        int[] count = new int[4];
        for (int i = 0; i < 8; i++) {
            count[f.pick(InferenceExchange.of(Fleet.request(i, 0, i, 20)))]++;
        }
        assertThat(count).containsOnly(2);
    }

    @Test
    void aBurstOfBareRequestsSpreadsToo() {
        Fleet f = new Fleet("inference", 4);
        f.publishAll(0, 0, 0.2);
        int[] count = new int[4];
        for (int i = 0; i < 12; i++) {
            count[f.pick(Fleet.request(i, 0, i, 20))]++;
        }
        assertThat(count).containsOnly(3);
    }

    @Test
    void saturatedServersAreSetAsideAndAllSaturatedSaysSo() {
        Fleet f = new Fleet("inference", 3);
        f.publish(0, 6, 50, 0.5);
        f.publish(1, 0, 10, 0.3);
        f.publish(2, 2, 50, 0.9);   // queue and a full cache: out of room
        for (int i = 0; i < 5; i++) {
            assertThat(f.pick(InferenceExchange.of(Fleet.request(i, 0, i, 10)))).isEqualTo(1);
        }
        f.publish(1, 5, 10, 0.3);
        assertThat(f.failure(InferenceExchange.of(Fleet.request(9, 0, 9, 10)))).isEqualTo(Reason.SATURATED);
    }

    @Test
    void moreUnstartedPrefillThanTheBacklogLimitIsSaturation() {
        // Defaults: 10,000 prefill tokens per second assumed, saturation.prefill_backlog 500 ms = 5,000 tokens.
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        InferenceExchange a = InferenceExchange.of(Fleet.request(1, 0, 1, 400));   // 6,400 tokens
        int first = f.pick(a);
        InferenceExchange b = InferenceExchange.of(Fleet.request(2, 0, 2, 400));
        assertThat(f.pick(b)).isEqualTo(1 - first);
        // Both servers owe more prefill than the limit, though their engines report no queue: the next request
        // waits in the central queue, where it is ordered, instead of in an engine's first-come-first-served one.
        assertThat(f.failure(InferenceExchange.of(Fleet.request(3, 0, 3, 10)))).isEqualTo(Reason.SATURATED);
        // The first token of a's request: its prefill is done, the server takes new work again.
        a.firstToken(f.clock.nanoTime());
        assertThat(f.pick(InferenceExchange.of(Fleet.request(4, 0, 4, 10)))).isEqualTo(first);
    }

    /** A request like {@link Fleet#request} whose client did not ask for streaming. */
    private static InferenceRequest notStreamed(long own, int blocks) {
        InferenceRequest r = Fleet.request(own, 0, own, blocks);
        return new InferenceRequest(r.model(), r.adapter(), r.blockHashes(), r.promptTokens(), r.maxTokens(),
                r.session(), r.priority(), r.tenant(), r.sloTtftMillis(), false);
    }

    @Test
    void aResponseThatIsNotStreamedSettlesItsPrefillAtThePredictedFirstToken() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        InferenceExchange a = InferenceExchange.of(notStreamed(1, 400));   // 6,400 tokens, 0.64 s predicted
        InferenceExchange b = InferenceExchange.of(notStreamed(2, 400));
        assertThat(f.pick(b)).isNotEqualTo(f.pick(a));
        assertThat(f.failure(InferenceExchange.of(Fleet.request(3, 0, 3, 10)))).isEqualTo(Reason.SATURATED);
        // Both still decode (their ends are far away), but their prefill is predicted done: the servers take work.
        f.clock.advance(Duration.ofSeconds(2));
        InferenceExchange next = InferenceExchange.of(Fleet.request(4, 0, 4, 10));
        f.pick(next);
        settle(f, next);
        // Their ends, long after, say nothing about the prefill rate (the proxy reports the first token at the end
        // of a response that is not streamed): twenty such requests leave the assumed rate as it was.
        double rate = f.state.prefillTokensPerSecond();
        for (int i = 0; i < 20; i++) {
            InferenceExchange x = InferenceExchange.of(notStreamed(10 + i, 40));
            f.pick(x);
            f.clock.advance(Duration.ofSeconds(10));
            settle(f, x);
        }
        assertThat(f.state.prefillTokensPerSecond()).isEqualTo(rate);
        settle(f, a);
        settle(f, b);
    }

    @Test
    void theBacklogLimitIsConfigurable() throws Exception {
        InferenceConfig config = Fleet.config("{ saturation: { prefill_backlog: 2s } }");
        Fleet f = new Fleet("inference", config, Fleet.endpoints(1));
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        for (int i = 0; i < 4; i++) {   // 19,200 tokens owed before the fourth: under 20,000, still taken
            f.pick(InferenceExchange.of(Fleet.request(10 + i, 0, 10 + i, 400)));
        }
        assertThat(f.failure(InferenceExchange.of(Fleet.request(21, 0, 21, 10)))).isEqualTo(Reason.SATURATED);
    }

    @Test
    void aPromptNobodyHoldsGoesWhereTheCacheHasRoom() throws Exception {
        InferenceConfig config = Fleet.config("{ prefix_index: { capacity_blocks: 256 } }");
        Fleet f = new Fleet("inference", config, Fleet.endpoints(8));
        f.publishAll(0, 0, 0);
        enableFeedback(f);
        // Eight different long prompts, one after another on an idle fleet: each would fill most of a cache, so each
        // goes to a server whose cache still has room rather than evicting another's prompt.
        java.util.Set<Integer> used = new java.util.HashSet<>();
        for (int p = 1; p <= 8; p++) {
            InferenceExchange x = InferenceExchange.of(Fleet.request(100 + p, 200, 100 + p, 200));
            used.add(f.pick(x));
            settle(f, x);
            f.clock.advance(Duration.ofMillis(100));
            f.publishAll(0, 0, 0);   // a reading that covers the dispatch: nothing in flight anywhere
        }
        assertThat(used).hasSize(8);   // by chance alone: 8!/8^8 = 0.24 %
        // And each returns to its holder.
        for (int p = 1; p <= 8; p++) {
            InferenceExchange x = InferenceExchange.of(Fleet.request(100 + p, 200, 900 + p, 210));
            f.pick(x);
            assertThat(x.cachedTokens()).isEqualTo(200 * 16);
            settle(f, x);
        }
    }

    @Test
    void aSaturatedServerKeepsOnlyRequestsWhosePrefixOutweighsItsQueue() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        enableFeedback(f);
        InferenceExchange warm = InferenceExchange.of(Fleet.request(1, 1500, 1, 1500));
        int holder = f.pick(warm);
        settle(f, warm);
        f.publish(holder, 6, 50, 0.5);   // six waiting: saturated
        f.publish(1 - holder, 0, 10, 0.1);
        // 24,000 cached tokens are worth more than the holder's queue: the request waits there, with its prefix.
        InferenceExchange again = InferenceExchange.of(Fleet.request(1, 1500, 2, 1510));
        assertThat(f.pick(again)).isEqualTo(holder);
        assertThat(again.cachedTokens()).isGreaterThanOrEqualTo(1496 * 16);
        // Requests the holder has nothing cached for never go to the saturated server.
        for (int i = 0; i < 3; i++) {
            assertThat(f.pick(InferenceExchange.of(Fleet.request(10 + i, 0, 10 + i, 20)))).isEqualTo(1 - holder);
        }
        // Once the other server is saturated too, a request without a prefix waits in the central queue.
        f.publish(1 - holder, 6, 10, 0.1);
        assertThat(f.failure(InferenceExchange.of(Fleet.request(20, 0, 20, 20)))).isEqualTo(Reason.SATURATED);
    }

    @Test
    void aHotPrefixDoesNotPileRunningRequestsOntoItsHolder() {
        Fleet f = new Fleet("inference", 4);
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        InferenceExchange warm = InferenceExchange.of(Fleet.request(1, 500, 1, 502));
        int holder = f.pick(warm);
        settle(f, warm);
        int[] count = new int[4];
        for (int i = 0; i < 20; i++) {
            // Prefill done at once (first token reported), then the request keeps decoding: in flight, no backlog.
            InferenceExchange x = InferenceExchange.of(Fleet.request(1, 500, 100 + i, 502));
            int e = f.pick(x);
            f.members.get(e).load().requestStarted();
            x.firstToken(f.clock.nanoTime());
            count[e]++;
        }
        // 8,000 cached tokens would keep every request on the holder; the balance cap (1.4 × mean + 2) stops it.
        assertThat(count[holder]).isGreaterThanOrEqualTo(count[(holder + 1) % 4]).isBetween(5, 9);
        assertThat(java.util.Arrays.stream(count).filter(n -> n > 0).count()).isGreaterThanOrEqualTo(3);
    }

    @Test
    void aFullCacheWithoutAQueueIsNotSaturation() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 80, 0.95);
        assertThat(f.pick(InferenceExchange.of(Fleet.request(1, 0, 1, 10)))).isBetween(0, 1);
    }

    @Test
    void staleReadingsAreNotTrusted() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(10, 10, 0.5);
        assertThat(f.failure(InferenceExchange.of(Fleet.request(1, 0, 1, 10)))).isEqualTo(Reason.SATURATED);
        f.clock.advance(Duration.ofMillis(600));   // stale_after is 500 ms
        assertThat(f.state.fresh(f.members.get(0).address())).isFalse();
        assertThat(f.pick(InferenceExchange.of(Fleet.request(1, 0, 1, 10)))).isBetween(0, 1);
    }

    @Test
    void sentSinceTheScrapeCountsUntilANewerReadingCoversIt() {
        Fleet f = new Fleet("inference", 1);
        f.publishAll(0, 0, 0);
        for (int i = 0; i < 3; i++) {
            f.pick(Fleet.request(i, 0, i, 10));
        }
        EndpointState s = f.state.endpointLocked(f.members.get(0).address());
        assertThat(s.pendingRequests()).isEqualTo(3);
        assertThat(s.pendingTokens()).isEqualTo(3 * 160);
        long before = f.clock.nanoTime();
        f.clock.advance(Duration.ofMillis(50));
        f.pick(Fleet.request(7, 0, 7, 10));
        // A reading taken before the last dispatch covers the first three only.
        f.state.publish(f.members.get(0).address(), new ServerMetrics(3, 0, 0, 10_000, 16, Set.of(), 0, before + 1));
        assertThat(s.pendingRequests()).isEqualTo(1);
        // An older reading arriving late changes nothing.
        f.state.publish(f.members.get(0).address(), new ServerMetrics(9, 0, 0, 10_000, 16, Set.of(), 0, before));
        assertThat(f.state.metrics(f.members.get(0).address()).orElseThrow().waiting()).isEqualTo(3);
    }

    @Test
    void servesOnlyWhatEndpointsServe() {
        Fleet f = new Fleet("inference", io.sluice.config.InferenceConfig.defaults(), List.of(
                Fleet.labelled(0, Map.of("models", "a")),
                Fleet.labelled(1, Map.of("models", "b,c"))));
        InferenceRequest b = withModel(Fleet.request(1, 0, 1, 10), "b");
        for (int i = 0; i < 3; i++) {
            assertThat(f.pick(b)).isEqualTo(1);
        }
        assertThat(f.failure(withModel(Fleet.request(1, 0, 1, 10), "z"))).isEqualTo(Reason.NOT_SERVED);
    }

    @Test
    void adaptersGoWhereTheyAreListedOrResident() {
        Fleet labelled = new Fleet("inference", io.sluice.config.InferenceConfig.defaults(), List.of(
                Fleet.labelled(0, Map.of("adapters", "x")),
                Fleet.labelled(1, Map.of("adapters", "y"))));
        InferenceRequest y = Fleet.request(1, 0, 1, 10, Optional.empty(), Optional.of("y"));
        for (int i = 0; i < 3; i++) {
            assertThat(labelled.pick(y)).isEqualTo(1);
        }
        assertThat(labelled.failure(Fleet.request(1, 0, 1, 10, Optional.empty(), Optional.of("q"))))
                .isEqualTo(Reason.NOT_SERVED);

        Fleet discovered = new Fleet("inference", 2);
        for (int i = 0; i < 2; i++) {
            discovered.state.publish(discovered.members.get(i).address(), new ServerMetrics(0, 1, 0.1, 10_000, 16,
                    i == 0 ? Set.of("x") : Set.of(), 4, discovered.clock.nanoTime()));
        }
        InferenceRequest x = Fleet.request(2, 0, 2, 10, Optional.empty(), Optional.of("x"));
        assertThat(discovered.pick(x)).isZero();
    }

    @Test
    void aSessionReturnsToItsServerAmongEquals() {
        Fleet f = new Fleet("inference", 4);
        f.publishAll(0, 0, 0.1);
        enableFeedback(f);
        InferenceExchange first = InferenceExchange.of(Fleet.request(1, 0, 1, 0, Optional.of("s-1"),
                Optional.empty()));
        int home = f.pick(first);
        settle(f, first);
        for (int i = 0; i < 6; i++) {
            InferenceExchange x = InferenceExchange.of(Fleet.request(1, 0, 1, 0, Optional.of("s-1"),
                    Optional.empty()));
            assertThat(f.pick(x)).isEqualTo(home);
            settle(f, x);
        }
    }

    @Test
    void withoutRequestFeaturesTheLeastLoadedWins() {
        Fleet f = new Fleet("inference", 3);
        f.members.get(0).load().requestStarted();
        f.members.get(2).load().requestStarted();
        assertThat(f.members.indexOf(f.pool.select(new PickContext()))).isEqualTo(1);
    }

    @Test
    void exclusionsAreHonouredWhileSomethingElseIsLeft() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        enableFeedback(f);
        InferenceExchange warm = InferenceExchange.of(Fleet.request(1, 50, 1, 50));
        int holder = f.pick(warm);
        settle(f, warm);
        Member h = f.members.get(holder);
        InferenceExchange x = InferenceExchange.of(Fleet.request(1, 50, 2, 60));
        assertThat(f.members.indexOf(f.pool.select(new PickContext().exclude(h).attach(x)))).isEqualTo(1 - holder);
        Member o = f.members.get(1 - holder);
        Member any = f.pool.select(new PickContext().exclude(h).exclude(o).attach(InferenceExchange.of(
                Fleet.request(3, 0, 3, 5))));
        assertThat(any).isIn(h, o);
    }

    @Test
    void aRetryTakesTheFirstDispatchBack() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        InferenceExchange x = InferenceExchange.of(Fleet.request(1, 0, 1, 20));
        Member first = f.members.get(f.pick(x));
        EndpointState s = f.state.endpointLocked(first.address());
        assertThat(s.owedPrefillTokens).isEqualTo(320);
        assertThat(s.pendingRequests()).isEqualTo(1);
        Member second = f.pool.select(new PickContext().exclude(first).attach(x));
        assertThat(second).isNotEqualTo(first);
        assertThat(s.owedPrefillTokens).isZero();
        assertThat(s.pendingRequests()).isZero();
        assertThat(x.endpoint()).contains(second.address());
        x.finished(f.clock.nanoTime());
        assertThat(f.state.endpointLocked(second.address()).owedPrefillTokens).isZero();
    }

    @Test
    void aResponseThatIsNotStreamedAndEndsEarlyPaysItsDebtAtTheEnd() {
        Fleet f = new Fleet("inference", 1);
        f.publishAll(0, 0, 0);
        InferenceExchange x = InferenceExchange.of(notStreamed(1, 400));   // 0.64 s of prefill predicted
        f.pick(x);
        EndpointState s = f.state.endpointLocked(f.members.get(0).address());
        assertThat(s.owedPrefillTokens).isEqualTo(6400);
        f.clock.advance(Duration.ofMillis(100));   // a faster server than predicted: the whole answer came back
        x.firstToken(f.clock.nanoTime());           // (what the proxy reports at the end of a plain response)
        x.finished(f.clock.nanoTime());
        assertThat(s.owedPrefillTokens).isZero();
        assertThat(s.owedPrefillRequests).isZero();
        f.clock.advance(Duration.ofSeconds(5));
        s.settleDue(f.clock.nanoTime());
        assertThat(s.owedPrefillRequests).isZero();
    }

    @Test
    void aRetryTakesBackTheDebtOfAResponseThatIsNotStreamed() {
        Fleet f = new Fleet("inference", 2);
        f.publishAll(0, 0, 0);
        InferenceExchange x = InferenceExchange.of(notStreamed(1, 20));
        Member first = f.members.get(f.pick(x));
        EndpointState s = f.state.endpointLocked(first.address());
        assertThat(s.owedPrefillTokens).isEqualTo(320);
        Member second = f.pool.select(new PickContext().exclude(first).attach(x));
        assertThat(second).isNotEqualTo(first);
        // Owed no more at once, not only when its predicted first token would have come.
        assertThat(s.owedPrefillTokens).isZero();
        assertThat(s.owedPrefillRequests).isZero();
        EndpointState t = f.state.endpointLocked(second.address());
        assertThat(t.owedPrefillTokens).isEqualTo(320);
        // The cancelled entry comes due without settling anything twice; the live one settles.
        f.clock.advance(Duration.ofSeconds(5));
        s.settleDue(f.clock.nanoTime());
        t.settleDue(f.clock.nanoTime());
        assertThat(t.owedPrefillTokens).isZero();
        assertThat(t.owedPrefillRequests).isZero();
        x.finished(f.clock.nanoTime());
    }

    @Test
    void measuredTimesToFirstTokenCalibrateThePrefillRate() {
        Fleet f = new Fleet("inference", 1);
        f.publishAll(0, 0, 0);
        assertThat(f.state.prefillTokensPerSecond()).isEqualTo(10_000);
        for (int i = 0; i < 40; i++) {
            InferenceExchange x = InferenceExchange.of(Fleet.request(i, 0, i, 125));   // 2000 tokens
            f.pick(x);
            f.clock.advance(Duration.ofMillis(50));                                   // 40k tokens/s
            x.firstToken(f.clock.nanoTime());
            x.finished(f.clock.nanoTime());
            f.publishAll(0, 0, 0);
        }
        assertThat(f.state.prefillTokensPerSecond()).isBetween(36_000.0, 44_000.0);
        InferenceExchange x = InferenceExchange.of(Fleet.request(99, 0, 99, 125));
        f.pick(x);
        assertThat(x.estimatedTtftNanos()).isBetween(40_000_000L, 60_000_000L);
    }

    @Test
    void predictedHitRatioIsReported() {
        Fleet f = new Fleet("inference", 1);
        f.publishAll(0, 0, 0);
        f.pick(Fleet.request(1, 16, 1, 16));
        f.pick(Fleet.request(1, 16, 2, 32));
        // 0 of 256 tokens, then 256 of 512 (the index works in 8-block steps).
        assertThat(f.state.predictedPrefixHitRatio()).isCloseTo(256.0 / 768, org.assertj.core.data.Offset.offset(
                1e-9));
    }

    private static InferenceRequest withModel(InferenceRequest r, String model) {
        return new InferenceRequest(model, r.adapter(), r.blockHashes(), r.promptTokens(), r.maxTokens(),
                r.session(), r.priority(), r.tenant(), r.sloTtftMillis(), r.stream());
    }
}
