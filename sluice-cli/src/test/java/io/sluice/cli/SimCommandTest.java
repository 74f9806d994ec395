package io.sluice.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SimCommandTest {

    @Test
    void unknownProfileIsBadInputAndListsWhatIsKnown() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new SimCommand());
        cli.setErr(new PrintWriter(err));
        assertThat(cli.execute("--profile", "v100-llama3-8b", "--port", "0")).isEqualTo(2);
        assertThat(err.toString()).contains("unknown GPU", "known GPUs: a100-40g", "llama3-8b");
    }

    @Test
    void mainKnowsBothSimulatorCommands() {
        CommandLine cli = new CommandLine(Main.class);
        assertThat(cli.getSubcommands()).containsKeys("sim", "replay");
    }
}
