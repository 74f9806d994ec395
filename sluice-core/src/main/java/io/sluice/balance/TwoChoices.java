package io.sluice.balance;

import io.sluice.endpoint.Member;
import java.util.random.RandomGenerator;

/**
 * Draws the two distinct, untried candidates that the power-of-two-choices policies compare.
 *
 * <p>A draw that hits an endpoint the request already tried, or (for the second) the first choice, is repeated a
 * few times; after that the next allowed candidate in snapshot order is taken, so a pick stays bounded in time.
 */
final class TwoChoices {

    /** Draws before falling back to a scan. */
    static final int DRAWS = 4;

    private TwoChoices() {
    }

    /** The first choice, or -1 if every candidate was already tried. */
    static int first(AliasTable table, Member[] candidates, RandomGenerator rng, PickContext ctx) {
        int a = table.sample(rng.nextLong());
        if (!ctx.hasExclusions()) {
            return a;
        }
        for (int k = 0; k < DRAWS; k++) {
            if (!ctx.excluded(candidates[a])) {
                return a;
            }
            a = table.sample(rng.nextLong());
        }
        return next(candidates, a, -1, ctx);
    }

    /** A second choice different from {@code a}, or -1 if there is none the request may use. */
    static int second(AliasTable table, Member[] candidates, RandomGenerator rng, PickContext ctx, int a) {
        boolean exclusions = ctx.hasExclusions();
        int b = a;
        for (int k = 0; k < DRAWS; k++) {
            b = table.sample(rng.nextLong());
            if (b != a && (!exclusions || !ctx.excluded(candidates[b]))) {
                return b;
            }
        }
        return next(candidates, b, a, ctx);
    }

    /** The first candidate at or after {@code start} that is neither {@code skip} nor tried; -1 if none. */
    private static int next(Member[] candidates, int start, int skip, PickContext ctx) {
        int n = candidates.length;
        for (int k = 0; k < n; k++) {
            int i = start + k;
            if (i >= n) {
                i -= n;
            }
            if (i != skip && !ctx.excluded(candidates[i])) {
                return i;
            }
        }
        return -1;
    }
}
