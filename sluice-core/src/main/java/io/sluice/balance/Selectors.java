package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;
import io.sluice.endpoint.Member;

/** Selectors and pick helpers shared by every policy. */
final class Selectors {

    private Selectors() {
    }

    /** The selector of a snapshot with no candidate: it says why. */
    static Selector empty(EndpointSet snapshot) {
        NoEndpointException failure = NoEndpointException.of(snapshot.members().isEmpty()
                ? NoEndpointException.Reason.NO_ENDPOINTS
                : NoEndpointException.Reason.NONE_USABLE);
        return ctx -> {
            throw failure;
        };
    }

    /** The candidates of a snapshot as an array, in snapshot order. */
    static Member[] candidates(EndpointSet snapshot) {
        return snapshot.candidates().toArray(new Member[0]);
    }

    /** The effective weights of a snapshot's candidates, in snapshot order. */
    static double[] weights(EndpointSet snapshot) {
        double[] weights = new double[snapshot.size()];
        for (int i = 0; i < weights.length; i++) {
            weights[i] = snapshot.weight(i);
        }
        return weights;
    }

    /**
     * The first member at or after {@code start} (cyclically) that the request has not tried yet; if it has tried
     * them all, {@code members[start]}: a request that has been everywhere may go anywhere.
     */
    static Member firstAllowed(Member[] members, int start, PickContext ctx) {
        int n = members.length;
        for (int k = 0; k < n; k++) {
            int i = start + k;
            if (i >= n) {
                i -= n;
            }
            if (!ctx.excluded(members[i])) {
                return members[i];
            }
        }
        return members[start];
    }
}
