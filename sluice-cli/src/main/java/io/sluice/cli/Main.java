package io.sluice.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code sluice}: the command line (DESIGN.md §4).
 *
 * <p>Exit codes: 0 success or clean stop, 1 failure to start (a port in use), 2 bad input (config errors, bad
 * options).
 */
@Command(name = "sluice", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "An L4/L7 load balancer and inference-aware router for LLM fleets.",
        subcommands = {RunCommand.class, ValidateCommand.class, DemoCommand.class, SimCommand.class, ReplayCommand.class,
            CommandLine.HelpCommand.class})
public final class Main {

    /** Exit code for bad input. */
    static final int BAD_INPUT = 2;

    private Main() {
    }

    /** Runs the command line and exits with its code. */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    /** The configured command line (bad options exit with {@link #BAD_INPUT}). */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new Main());
        cli.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("sluice: " + ex.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(ex, ex.getCommandLine().getErr());
            ex.getCommandLine().getErr().println("Try 'sluice " + ex.getCommandLine().getCommandName()
                    .replace("sluice", "").strip() + " --help' for usage.");
            return BAD_INPUT;
        });
        return cli;
    }
}
