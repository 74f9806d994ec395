package io.sluice.proxy.health;

import io.netty.channel.EventLoop;
import io.netty.channel.socket.SocketChannel;
import io.netty.util.concurrent.ScheduledFuture;
import io.sluice.config.HealthCheckConfig;
import io.sluice.config.PoolConfig;
import io.sluice.endpoint.Member;
import io.sluice.health.HealthChecker;
import io.sluice.health.HealthChecker.State;
import io.sluice.health.HealthChecker.Transition;
import io.sluice.proxy.runtime.PoolRuntime;
import io.sluice.time.Clock;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The active health check of one endpoint: probes it, one probe at a time, and feeds each result to its
 * {@link HealthChecker}, which decides the verdict and when the next probe is due.
 *
 * <p>The next probe is scheduled only once the previous result is in, so probes of one endpoint never overlap and a
 * hung endpoint is probed at most once per {@code timeout + interval}. Everything here runs on the monitor's event
 * loop. A reload {@linkplain #rebind rebinds} the task to the new pool with a checker that carries the old one's
 * state, without touching the probe schedule, so a burst of reloads never delays a probe.
 */
final class ProbeTask {

    private static final Logger LOG = LoggerFactory.getLogger(ProbeTask.class);

    private final EventLoop loop;
    private final Class<? extends SocketChannel> channelClass;
    private final Clock clock;
    private final Member member;
    private final SplittableRandom random = new SplittableRandom(ThreadLocalRandom.current().nextLong());
    private volatile HealthChecker checker;
    private volatile PoolRuntime pool;
    private HealthCheckConfig config;
    private Probe.HttpCheck http;
    private ScheduledFuture<?> next;
    private Probe running;
    private io.netty.util.concurrent.Future<GrpcHealthProbe.Result> runningGrpc;
    private boolean cancelled;

    ProbeTask(EventLoop loop, Class<? extends SocketChannel> channelClass, Clock clock, PoolRuntime pool,
              Member member, HealthCheckConfig config) {
        this.loop = loop;
        this.channelClass = channelClass;
        this.clock = clock;
        this.member = member;
        this.pool = pool;
        configure(config);
        this.checker = HealthChecker.of(pool.pool(), member, config, random);
    }

    private void configure(HealthCheckConfig c) {
        this.config = c;
        this.http = c.type() == HealthCheckConfig.Type.HTTP ? httpCheck(c, member) : null;
    }

    private static Probe.HttpCheck httpCheck(HealthCheckConfig c, Member member) {
        byte[] request = ("GET " + c.path() + " HTTP/1.1\r\nHost: " + c.host().orElse(member.address().toString())
                + "\r\nUser-Agent: sluice-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        return new Probe.HttpCheck() {
            @Override
            public byte[] request() {
                return request;
            }

            @Override
            public boolean expected(int status) {
                return c.expected(status);
            }
        };
    }

    /** Schedules the first probe (within {@code jitter × interval} for a new endpoint). */
    void start() {
        schedule();
    }

    /** Moves the task to the pool that replaced its own on a reload, keeping the checker's state. */
    void rebind(PoolRuntime replacement, HealthCheckConfig replacementConfig) {
        pool = replacement;
        configure(replacementConfig);
        checker = HealthChecker.of(replacement.pool(), member, replacementConfig, random, Optional.of(checker));
    }

    /** Stops probing: the endpoint left its pool, its pool lost its check, or Sluice stops. */
    void cancel() {
        cancelled = true;
        if (next != null) {
            next.cancel(false);
        }
        if (running != null) {
            running.cancel();
            running = null;
        }
        if (runningGrpc != null) {
            runningGrpc.cancel(false);
            runningGrpc = null;
        }
    }

    PoolRuntime pool() {
        return pool;
    }

    HealthChecker checker() {
        return checker;
    }

    Member member() {
        return member;
    }

    private void schedule() {
        if (cancelled) {
            return;
        }
        next = loop.schedule(this::probe, checker.nextProbeDelay().toNanos(), TimeUnit.NANOSECONDS);
    }

    private void probe() {
        if (cancelled) {
            return;
        }
        long timeoutMillis = Math.max(1, config.timeout().toMillis());
        if (config.type() == HealthCheckConfig.Type.GRPC) {
            // gRPC runs over HTTP/2: TLS (with ALPN h2) only for h2 pools, prior knowledge otherwise.
            PoolRuntime p = pool;
            var tls = p.config().protocol() == PoolConfig.UpstreamProtocol.H2 ? p.tls()
                    : java.util.Optional.<io.netty.handler.ssl.SslContext>empty();
            var probe = GrpcHealthProbe.probe(loop, channelClass, p.socketAddress(member),
                    config.host().orElse(member.address().toString()), config.grpcService(), tls, config.timeout());
            runningGrpc = probe;
            probe.addListener(done -> {
                if (runningGrpc != probe || !done.isSuccess()) {
                    return;
                }
                runningGrpc = null;
                GrpcHealthProbe.Result r = probe.getNow();
                onResult(new Probe.Result(switch (r.outcome()) {
                    case PASS -> Probe.Outcome.PASS;
                    case FAIL -> Probe.Outcome.FAIL;
                    case TIMEOUT -> Probe.Outcome.TIMEOUT;
                }, r.detail()));
            });
            return;
        }
        running = Probe.start(loop, channelClass, pool.socketAddress(member), timeoutMillis, http, this::onResult);
    }

    private void onResult(Probe.Result result) {
        running = null;
        if (cancelled) {
            return;
        }
        HealthChecker c = checker;
        State before = c.state();
        long now = clock.nanoTime();
        Transition t = switch (result.outcome()) {
            case PASS -> c.onResult(true, now);
            case FAIL -> c.onResult(false, now);
            case TIMEOUT -> c.onTimeout(now);
        };
        String poolName = pool.name();
        if (t == Transition.UP) {
            LOG.info("pool {}: {} passes its health check ({}) and takes traffic", poolName, member.address(),
                    result.detail());
        } else if (t == Transition.DOWN) {
            LOG.warn("pool {}: {} failed {} health checks in a row (last: {}); no new requests go to it", poolName,
                    member.address(), config.unhealthyThreshold(), result.detail());
        } else if (before == State.PENDING && c.state() == State.UNHEALTHY) {
            LOG.info("pool {}: {} is not ready yet (health check: {})", poolName, member.address(), result.detail());
        }
        schedule();
    }
}
