package io.sluice.balance;

import io.sluice.endpoint.EndpointSet;

/** Selectors shared by every policy. */
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
}
