package io.sluice.cli;

import io.sluice.cli.demo.Demo;
import io.sluice.config.Durations;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import sun.misc.Signal;

/**
 * {@code sluice demo}: simulated GPU servers and two web servers, Sluice in front of them with the config it prints,
 * the dashboard, and gentle background traffic with a live summary. Stops after {@code --duration} or on Ctrl-C.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start simulated model servers, web servers and Sluice in front, with a dashboard and "
                + "gentle traffic; print a live summary.")
final class DemoCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = "--duration", paramLabel = "D", description = "stop after this long (e.g. 30s, 5m); "
            + "default: until Ctrl-C")
    private String duration;

    @Option(names = "--port", defaultValue = "8080", description = "public listener port; 0 or busy: any free "
            + "port (default: ${DEFAULT-VALUE})")
    private int port;

    @Option(names = "--admin-port", defaultValue = "9901", description = "admin/dashboard port; 0 or busy: any "
            + "free port (default: ${DEFAULT-VALUE})")
    private int adminPort;

    @Option(names = "--replicas", defaultValue = "4", description = "simulated model servers (default: "
            + "${DEFAULT-VALUE})")
    private int replicas;

    @Option(names = "--profile", defaultValue = "h100-llama3-8b", description = "GPU/model profile of the "
            + "simulated servers (default: ${DEFAULT-VALUE})")
    private String profile;

    @Option(names = "--rate", defaultValue = "4", description = "background requests per second (default: "
            + "${DEFAULT-VALUE}; 0 for none)")
    private double rate;

    @Option(names = "--summary-every", defaultValue = "5s", description = "time between summary lines "
            + "(default: ${DEFAULT-VALUE})")
    private String summaryEvery;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<Duration> limit;
        Duration every;
        try {
            limit = Optional.ofNullable(duration).map(Durations::parse);
            every = Durations.parse(summaryEvery);
        } catch (IllegalArgumentException e) {
            err.println("sluice demo: " + e.getMessage());
            err.flush();
            return Main.BAD_INPUT;
        }
        if (replicas < 1 || replicas > 64 || rate < 0 || every.isZero()) {
            err.println("sluice demo: --replicas must be 1-64, --rate at least 0, --summary-every positive");
            err.flush();
            return Main.BAD_INPUT;
        }
        Demo demo;
        try {
            demo = Demo.start(new Demo.Options(port, adminPort, replicas, profile, rate));
        } catch (IllegalArgumentException e) {
            err.println("sluice demo: " + e.getMessage());
            err.flush();
            return Main.BAD_INPUT;
        }
        CountDownLatch stop = new CountDownLatch(1);
        Signal.handle(new Signal("INT"), s -> stop.countDown());
        Signal.handle(new Signal("TERM"), s -> stop.countDown());
        try {
            demo.printBanner(out);
            long deadline = limit.map(d -> System.nanoTime() + d.toNanos()).orElse(Long.MAX_VALUE);
            while (true) {
                long wait = Math.min(every.toNanos(), deadline - System.nanoTime());
                if (wait <= 0 || stop.await(wait, TimeUnit.NANOSECONDS)) {
                    break;
                }
                demo.printSummary(out);
            }
            out.println("stopping...");
            out.flush();
        } finally {
            demo.close();
        }
        return 0;
    }

}
