package io.sluice.proxy.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The socket implementation: Linux epoll or io_uring when their native libraries load, Java NIO otherwise.
 *
 * <p>Chosen once at start-up. {@code SLUICE_TRANSPORT} (or {@code -Dsluice.transport}) forces one of {@code nio},
 * {@code epoll}, {@code io_uring}; the default {@code auto} takes epoll when available (the most mature native
 * transport), else NIO. Sluice, HAProxy and NGINX are all event-loop servers, so with {@code io_threads} equal to
 * HAProxy's {@code nbthread} the benchmarks compare equal cores.
 */
public enum Transport {
    NIO, EPOLL, IO_URING;

    private static final Logger LOG = LoggerFactory.getLogger(Transport.class);

    /** The transport to use, from the environment or the system property, falling back to what is available. */
    public static Transport select() {
        String wanted = System.getProperty("sluice.transport", System.getenv().getOrDefault("SLUICE_TRANSPORT",
                "auto")).toLowerCase(Locale.ROOT);
        switch (wanted) {
            case "nio" -> {
                return NIO;
            }
            case "epoll" -> {
                if (Epoll.isAvailable()) {
                    return EPOLL;
                }
                LOG.warn("epoll requested but unavailable ({}); using NIO", Epoll.unavailabilityCause().toString());
                return NIO;
            }
            case "io_uring", "iouring" -> {
                if (IoUring.isAvailable()) {
                    return IO_URING;
                }
                LOG.warn("io_uring requested but unavailable ({}); using NIO",
                        IoUring.unavailabilityCause().toString());
                return NIO;
            }
            default -> {
                return Epoll.isAvailable() ? EPOLL : NIO;
            }
        }
    }

    /** A group of event loops of this transport; {@code threads} 0 means one per available core. */
    public EventLoopGroup newGroup(int threads, String name) {
        int n = threads > 0 ? threads : Runtime.getRuntime().availableProcessors();
        IoHandlerFactory factory = switch (this) {
            case EPOLL -> EpollIoHandler.newFactory();
            case IO_URING -> IoUringIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory(name, true), factory);
    }

    /** The server socket class. */
    public Class<? extends ServerChannel> serverChannel() {
        return switch (this) {
            case EPOLL -> EpollServerSocketChannel.class;
            case IO_URING -> IoUringServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    /** The client socket class. */
    public Class<? extends SocketChannel> socketChannel() {
        return switch (this) {
            case EPOLL -> EpollSocketChannel.class;
            case IO_URING -> IoUringSocketChannel.class;
            case NIO -> NioSocketChannel.class;
        };
    }
}
