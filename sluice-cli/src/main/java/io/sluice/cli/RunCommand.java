package io.sluice.cli;

import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.SluiceConfig;
import io.sluice.proxy.server.SluiceServer;
import io.sluice.time.Clock;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * {@code sluice run -c FILE}: serves a config until SIGTERM or SIGINT, then drains gracefully and exits 0. SIGHUP
 * re-reads the file; a bad file is refused and the running config stays.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = "Serve a config until SIGTERM/SIGINT (graceful drain). SIGHUP reloads the file.")
final class RunCommand implements Callable<Integer> {

    private static final Logger LOG = LoggerFactory.getLogger(RunCommand.class);

    @Spec
    private CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, paramLabel = "FILE", description = "the config file")
    private Path file;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        SluiceConfig config;
        try {
            config = SluiceConfig.load(file);
        } catch (ConfigException e) {
            printErrors(err, e);
            return Main.BAD_INPUT;
        }
        SluiceServer server;
        try {
            server = SluiceServer.start(config, Clock.system());
        } catch (ConfigException e) {
            printErrors(err, e);
            return Main.BAD_INPUT;
        } catch (IOException e) {
            err.println("sluice: " + e.getMessage());
            err.flush();
            return 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        SignalHandler stop = signal -> {
            Thread t = new Thread(() -> {
                try {
                    LOG.info("SIG{} received: draining (up to {})", signal.getName(), config.drainTimeout());
                    boolean clean = server.shutdown(server.runtime().config().drainTimeout());
                    LOG.info(clean ? "stopped cleanly" : "stopped; some connections were cut at the drain timeout");
                } catch (RuntimeException | Error e) {
                    LOG.error("shutdown failed", e);
                } finally {
                    stopped.countDown();
                }
            }, "sluice-shutdown");
            t.start();
        };
        Signal.handle(new Signal("TERM"), stop);
        Signal.handle(new Signal("INT"), stop);
        SignalHandler previous = Signal.handle(new Signal("HUP"), signal -> new Thread(() -> {
            try {
                server.reloadFromSource();
            } catch (ConfigException e) {
                LOG.error("reload refused, the running config stays:\n{}", e.getMessage());
            }
        }, "sluice-reload").start());
        if (previous == SignalHandler.SIG_IGN) {
            // Started with SIGHUP ignored (nohup, some supervisors): the JVM keeps it ignored, so say so.
            LOG.warn("SIGHUP is ignored by this process (started under nohup?): reload with POST /api/v1/reload "
                    + "or start sluice without nohup");
        }
        stopped.await();
        return 0;
    }

    private static void printErrors(PrintWriter err, ConfigException e) {
        err.println(e.getMessage().lines().findFirst().orElse("config errors"));
        for (ConfigError error : e.errors()) {
            err.println("  " + error);
        }
        err.flush();
    }
}
