package io.sluice.proxy.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Sends raw bytes over a socket and reads what comes back, for tests of malformed or unusual HTTP. */
public final class RawHttp implements AutoCloseable {

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    private RawHttp(int port, int readTimeoutMillis) throws IOException {
        socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(readTimeoutMillis);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Opens a connection. */
    public static RawHttp connect(int port) throws IOException {
        return new RawHttp(port, 5000);
    }

    /** Sends text (ISO-8859-1 bytes). */
    public RawHttp send(String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        return this;
    }

    /** Sends bytes. */
    public RawHttp send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Reads until the peer closes or the read times out; returns what arrived. */
    public String readAll() throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        try {
            int n;
            while ((n = in.read(b)) > 0) {
                buf.write(b, 0, n);
            }
        } catch (SocketTimeoutException e) {
            // What arrived so far is the answer.
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    /** Reads until the text contains {@code marker} (or the peer closes, or 5 s pass). */
    public String readUntil(String marker) throws IOException {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] b = new byte[8192];
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline) {
            int n;
            try {
                n = in.read(b);
            } catch (SocketTimeoutException e) {
                break;
            }
            if (n < 0) {
                break;
            }
            buf.write(b, 0, n);
            if (buf.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
                break;
            }
        }
        return buf.toString(StandardCharsets.ISO_8859_1);
    }

    /**
     * Reads exactly one response framed by Content-Length or chunked encoding (or until close) and returns its
     * head and body as text.
     */
    public String readResponse() throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int prev3 = -1;
        int prev2 = -1;
        int prev1 = -1;
        while (true) {
            int c = in.read();
            if (c < 0) {
                return head.toString(StandardCharsets.ISO_8859_1);
            }
            head.write(c);
            if (prev3 == '\r' && prev2 == '\n' && prev1 == '\r' && c == '\n') {
                break;
            }
            prev3 = prev2;
            prev2 = prev1;
            prev1 = c;
        }
        String h = head.toString(StandardCharsets.ISO_8859_1);
        String lower = h.toLowerCase(java.util.Locale.ROOT);
        StringBuilder out = new StringBuilder(h);
        if (lower.startsWith("http/1.1 1") || lower.startsWith("http/1.1 204") || lower.startsWith("http/1.1 304")) {
            return out.toString();
        }
        int cl = lower.indexOf("\ncontent-length:");
        if (cl >= 0) {
            int end = lower.indexOf('\r', cl);
            long n = Long.parseLong(lower.substring(cl + 16, end).strip());
            out.append(new String(in.readNBytes((int) n), StandardCharsets.ISO_8859_1));
        } else if (lower.contains("\ntransfer-encoding: chunked")) {
            while (true) {
                String line = readLine();
                int size = Integer.parseInt(line.split(";")[0].strip(), 16);
                if (size == 0) {
                    String t;
                    while (!(t = readLine()).isEmpty()) {
                        out.append(t).append("\r\n");
                    }
                    break;
                }
                out.append(new String(in.readNBytes(size), StandardCharsets.ISO_8859_1));
                readLine();
            }
        } else {
            out.append(readAll());
        }
        return out.toString();
    }

    private String readLine() throws IOException {
        StringBuilder line = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            if (c != '\r') {
                line.append((char) c);
            }
        }
        return line.toString();
    }

    /** Sends a request and reads the whole exchange until the peer closes. */
    public static String exchange(int port, String request) throws IOException {
        try (RawHttp c = connect(port)) {
            c.send(request);
            return c.readAll();
        }
    }

    /** True if the peer has closed the connection (a read returns end of stream within the timeout). */
    public boolean closedByPeer() throws IOException {
        try {
            return in.read() < 0;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
