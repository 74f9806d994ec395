package io.sluice.proxy.testing;

/**
 * A backend in a JVM of its own, so that a test can {@code kill -9} it: it answers every request with 200 and its
 * name, prints {@code LISTENING <port>} once bound, and runs until killed.
 *
 * <p>Usage: {@code BackendProcess NAME PORT} (port 0: any).
 */
public final class BackendProcess {

    private BackendProcess() {
    }

    /** Starts the backend and blocks forever. */
    public static void main(String[] args) throws InterruptedException {
        String name = args[0];
        int port = Integer.parseInt(args[1]);
        TestBackend backend = TestBackend.start(name, port, (ctx, r) -> TestBackend.respond(ctx, 200, name));
        System.out.println("LISTENING " + backend.port());
        System.out.flush();
        Thread.currentThread().join();
    }
}
