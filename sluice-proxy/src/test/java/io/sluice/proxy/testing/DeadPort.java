package io.sluice.proxy.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * A loopback port where nothing listens, reserved for as long as this object is open: connecting to it is refused,
 * and the OS will not hand it to another socket bound to port 0 meanwhile (it is bound, without SO_REUSEADDR, but
 * not listening). A closed {@code ServerSocket(0)}'s port gives no such guarantee: the next listener may get it.
 */
public final class DeadPort implements AutoCloseable {

    private final Socket socket;

    private DeadPort(Socket socket) {
        this.socket = socket;
    }

    /** Reserves a port on 127.0.0.1. */
    public static DeadPort reserve() {
        try {
            Socket s = new Socket();
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress("127.0.0.1", 0));
            return new DeadPort(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The port. */
    public int port() {
        return socket.getLocalPort();
    }

    /** {@code 127.0.0.1:port}. */
    public String address() {
        return "127.0.0.1:" + port();
    }

    /** Frees the port (for a test that then starts a server on it). */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
