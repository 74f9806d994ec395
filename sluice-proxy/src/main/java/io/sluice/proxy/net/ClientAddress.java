package io.sluice.proxy.net;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Optional;

/**
 * The addresses of a client connection as Sluice should report them: the ones a trusted PROXY protocol header
 * declared, else the socket's own.
 *
 * <p>The PROXY protocol handler stores the declared addresses in channel attributes before the rest of the
 * pipeline sees the connection; an HTTP/2 stream reads them from its parent connection.
 */
public final class ClientAddress {

    /** The client address a PROXY protocol header declared. */
    public static final AttributeKey<InetSocketAddress> SOURCE = AttributeKey.valueOf("sluice.proxy.source");
    /** The address the client connected to, as a PROXY protocol header declared. */
    public static final AttributeKey<InetSocketAddress> DESTINATION =
            AttributeKey.valueOf("sluice.proxy.destination");

    private ClientAddress() {
    }

    /** The client's address: declared by a trusted PROXY header, else the peer of the socket. */
    public static Optional<InetSocketAddress> source(Channel channel) {
        Channel c = channel;
        while (c != null) {
            InetSocketAddress declared = c.attr(SOURCE).get();
            if (declared != null) {
                return Optional.of(declared);
            }
            if (c.parent() == null || !(c.parent() instanceof io.netty.channel.socket.SocketChannel)) {
                break;
            }
            c = c.parent();
        }
        SocketAddress remote = channel.remoteAddress();
        return remote instanceof InetSocketAddress isa ? Optional.of(isa) : Optional.empty();
    }

    /** The address the client connected to: declared by a trusted PROXY header, else the local socket address. */
    public static Optional<InetSocketAddress> destination(Channel channel) {
        Channel c = channel;
        while (c != null) {
            InetSocketAddress declared = c.attr(DESTINATION).get();
            if (declared != null) {
                return Optional.of(declared);
            }
            if (c.parent() == null || !(c.parent() instanceof io.netty.channel.socket.SocketChannel)) {
                break;
            }
            c = c.parent();
        }
        SocketAddress local = channel.localAddress();
        return local instanceof InetSocketAddress isa ? Optional.of(isa) : Optional.empty();
    }
}
