package io.sluice.sim.server;

/**
 * The text of simulated output tokens: four-character words, so that output text has the same 4 bytes per token
 * that Sluice assumes everywhere, and is deterministic per request.
 */
final class TokenText {

    private static final String[] WORDS = {" the", " sim", " and", " for", " you", " can", " all", " now",
        " new", " one", " way", " use", " kv ", " gpu", " set", " fit", " run", " big", " low", " key"};

    private TokenText() {
    }

    /** Token {@code index} of request {@code id}. */
    static String token(long id, int index) {
        return WORDS[(int) Math.floorMod(id * 7 + index * 13L, WORDS.length)];
    }

    /** Tokens {@code [from, to)} of request {@code id}. */
    static String tokens(long id, int from, int to) {
        StringBuilder b = new StringBuilder((to - from) * 4);
        for (int i = from; i < to; i++) {
            b.append(token(id, i));
        }
        return b.toString();
    }
}
