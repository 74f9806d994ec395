package io.sluice.inference;

import io.sluice.endpoint.Address;
import java.util.Arrays;

/**
 * What the router knows about one model server: its last engine-metrics reading, and its own account of the
 * requests it sent there.
 *
 * <p>Two accounts are kept, because scraped metrics are always a little late:
 * <ul>
 *   <li><b>Sent since the scrape.</b> Every dispatch is stamped with the router clock. When a reading arrives, the
 *       dispatches made before it was taken are dropped (the reading counts them); the rest are what the engine
 *       has not reported yet. Without this, every request in the 100 ms between two scrapes would see the same
 *       "idle" endpoint and a burst would herd onto it.</li>
 *   <li><b>Prefill still owed.</b> The uncached prompt tokens of requests sent here whose first token has not come
 *       back yet ({@link InferenceExchange#firstToken}). This is the prefill work queued ahead of a new request, in
 *       tokens, known exactly by a router that sees every response, with no scrape delay.</li>
 * </ul>
 * Fields are guarded by the owning {@link FleetState}'s lock, except the reading, which is published through a
 * volatile write so that admin views may read it without the lock.
 */
final class EndpointState {

    final Address address;
    final int slot;

    volatile ServerMetrics metrics;
    // The numbers of the reading a decision needs, copied at publication: the decision reads them for every
    // endpoint, and one object per endpoint is fewer cache misses than two (the reading is a new object per scrape).
    /** When the reading was taken; {@link Long#MIN_VALUE} before the first. */
    long scrapedAtNanos = Long.MIN_VALUE;
    int scrapedWaiting;
    int scrapedRunning;
    double scrapedKvUsage;
    /** The engine's KV cache in tokens, 0 if it does not say. */
    long kvCapacityTokens;

    // Dispatches not yet covered by a reading: a ring of (time, uncached tokens), oldest first.
    private long[] sentAt = new long[32];
    private int[] sentTokens = new int[32];
    private int sentHead;
    private int sentSize;
    private long pendingTokens;

    // Self-settling prefill debts of requests dispatched without feedback: a min-heap on settle time.
    private static final int CANCELLED = -1;
    private long[] settleAt = new long[16];
    private int[] settleTokens = new int[16];
    private int settleSize;

    long owedPrefillTokens;
    int owedPrefillRequests;
    int inFlight;
    /** Uncached prompt tokens of requests in flight here: KV the router knows it caused, a floor for KV use. */
    long activeTokens;

    EndpointState(Address address, int slot) {
        this.address = address;
        this.slot = slot;
    }

    /** Records a dispatch at {@code nowNanos} of a request needing {@code uncachedTokens} of prefill. */
    void dispatched(long nowNanos, int uncachedTokens) {
        if (sentSize == sentAt.length) {
            sentAt = Arrays.copyOf(unrolledTimes(), sentAt.length * 2);
            sentTokens = Arrays.copyOf(unrolledTokens(), sentTokens.length * 2);
            sentHead = 0;
        }
        int at = (sentHead + sentSize) % sentAt.length;
        sentAt[at] = nowNanos;
        sentTokens[at] = uncachedTokens;
        sentSize++;
        pendingTokens += uncachedTokens;
        owedPrefillTokens += uncachedTokens;
        owedPrefillRequests++;
        inFlight++;
    }

    /** Takes back a dispatch that never happened (the data plane could not reach the endpoint and retried). */
    void undispatched(long dispatchedAtNanos, int uncachedTokens, boolean prefillOwed) {
        for (int i = sentSize - 1; i >= 0; i--) {
            int at = (sentHead + i) % sentAt.length;
            if (sentAt[at] == dispatchedAtNanos && sentTokens[at] == uncachedTokens) {
                pendingTokens -= uncachedTokens;
                // Close the gap by moving the newer entries one place back.
                for (int j = i; j < sentSize - 1; j++) {
                    int to = (sentHead + j) % sentAt.length;
                    int from = (sentHead + j + 1) % sentAt.length;
                    sentAt[to] = sentAt[from];
                    sentTokens[to] = sentTokens[from];
                }
                sentSize--;
                break;
            }
        }
        if (prefillOwed) {
            prefillDone(uncachedTokens);
        }
        ended(uncachedTokens);
    }

    /** The first token of a request came back: its prefill is no longer owed. */
    void prefillDone(int uncachedTokens) {
        owedPrefillTokens = Math.max(0, owedPrefillTokens - uncachedTokens);
        owedPrefillRequests = Math.max(0, owedPrefillRequests - 1);
    }

    /**
     * Records that a request's prefill debt settles by itself at {@code atNanos} (its predicted first token): used
     * when nobody will report the first token.
     */
    void settleLater(long atNanos, int tokens) {
        if (settleSize == settleAt.length) {
            settleAt = Arrays.copyOf(settleAt, settleSize * 2);
            settleTokens = Arrays.copyOf(settleTokens, settleSize * 2);
        }
        int i = settleSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (settleAt[parent] - atNanos <= 0) {
                break;
            }
            settleAt[i] = settleAt[parent];
            settleTokens[i] = settleTokens[parent];
            i = parent;
        }
        settleAt[i] = atNanos;
        settleTokens[i] = tokens;
    }

    /**
     * Takes back a self-settling debt recorded with {@link #settleLater} (its dispatch never happened): it is owed
     * no more from now on. The heap entry stays, marked, and is dropped when it comes due.
     *
     * @return false if no such debt is pending (it settled already)
     */
    boolean cancelSettle(long atNanos, int tokens) {
        for (int i = 0; i < settleSize; i++) {
            if (settleAt[i] == atNanos && settleTokens[i] == tokens) {
                settleTokens[i] = CANCELLED;
                prefillDone(tokens);
                return true;
            }
        }
        return false;
    }

    /** Settles the self-settling debts due by {@code nowNanos}. */
    void settleDue(long nowNanos) {
        while (settleSize > 0 && settleAt[0] - nowNanos <= 0) {
            if (settleTokens[0] != CANCELLED) {
                prefillDone(settleTokens[0]);
            }
            settleSize--;
            long lastAt = settleAt[settleSize];
            int lastTokens = settleTokens[settleSize];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= settleSize) {
                    break;
                }
                if (child + 1 < settleSize && settleAt[child + 1] - settleAt[child] < 0) {
                    child++;
                }
                if (lastAt - settleAt[child] <= 0) {
                    break;
                }
                settleAt[i] = settleAt[child];
                settleTokens[i] = settleTokens[child];
                i = child;
            }
            if (settleSize > 0) {
                settleAt[i] = lastAt;
                settleTokens[i] = lastTokens;
            }
        }
    }

    /** A request ended; it held {@code tokens} of KV that the router accounted for. */
    void ended(int tokens) {
        inFlight = Math.max(0, inFlight - 1);
        activeTokens = Math.max(0, activeTokens - tokens);
    }

    /** A new reading: dispatches made before it was taken are now counted by the engine itself. */
    void published(ServerMetrics reading) {
        scrapedAtNanos = reading.scrapedAtNanos();
        scrapedWaiting = reading.waiting();
        scrapedRunning = reading.running();
        scrapedKvUsage = reading.kvCacheUsage();
        kvCapacityTokens = FleetState.kvTokens(reading);
        metrics = reading;
        expireSentBefore(reading.scrapedAtNanos());
    }

    /** Forgets dispatches made before the given time. */
    void expireSentBefore(long nanos) {
        while (sentSize > 0 && sentAt[sentHead] - nanos < 0) {
            pendingTokens -= sentTokens[sentHead];
            sentHead = (sentHead + 1) % sentAt.length;
            sentSize--;
        }
    }

    /** Requests sent since the last reading was taken. */
    int pendingRequests() {
        return sentSize;
    }

    /** Uncached prompt tokens sent since the last reading was taken. */
    long pendingTokens() {
        return pendingTokens;
    }

    /** The reading if it is no older than {@code staleAfterNanos}, else null. */
    ServerMetrics fresh(long nowNanos, long staleAfterNanos) {
        ServerMetrics m = metrics;
        return m != null && nowNanos - m.scrapedAtNanos() <= staleAfterNanos ? m : null;
    }

    private long[] unrolledTimes() {
        long[] out = new long[sentAt.length];
        for (int i = 0; i < sentSize; i++) {
            out[i] = sentAt[(sentHead + i) % sentAt.length];
        }
        return out;
    }

    private int[] unrolledTokens() {
        int[] out = new int[sentTokens.length];
        for (int i = 0; i < sentSize; i++) {
            out[i] = sentTokens[(sentHead + i) % sentTokens.length];
        }
        return out;
    }

    @Override
    public String toString() {
        return address + "[slot " + slot + "]";
    }
}
