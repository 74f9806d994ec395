package io.sluice.cli;

import io.sluice.config.ConfigError;
import io.sluice.config.ConfigException;
import io.sluice.config.SluiceConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** {@code sluice validate -c FILE...}: checks configs and prints {@code ok} or every error with its path. */
@Command(name = "validate", mixinStandardHelpOptions = true,
        description = "Check config files; print ok or every error with its path. Exit 2 if any has errors.")
final class ValidateCommand implements Callable<Integer> {

    @Spec
    private CommandSpec spec;

    @Option(names = {"-c", "--config"}, required = true, arity = "1..*", paramLabel = "FILE",
            description = "config files to check")
    private List<Path> files;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean allOk = true;
        for (Path file : files) {
            String prefix = files.size() > 1 ? file + ": " : "";
            try {
                SluiceConfig.load(file);
                out.println(prefix + "ok");
            } catch (ConfigException e) {
                allOk = false;
                err.println(file + ": " + e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"));
                for (ConfigError error : e.errors()) {
                    err.println("  " + error);
                }
            }
        }
        out.flush();
        err.flush();
        return allOk ? 0 : Main.BAD_INPUT;
    }
}
