package dev.orrery.edge.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code orrery runs …}: submit, watch, inspect, approve, replay and fork runs on an Orrery server, over its
 * HTTP API. Every command takes {@code --url}, {@code --key} and {@code --output json|text}.
 */
@Command(name = "runs",
    description = "Submit, watch, inspect, approve, replay and fork runs on an Orrery server.",
    subcommands = {SubmitCommand.class, ListCommand.class, StatusCommand.class, CancelCommand.class,
        ApproveCommand.class, JournalCommand.class, ReplayCommand.class, ForkCommand.class},
    footerHeading = "%nEnvironment:%n",
    footer = {"  ORRERY_URL       the server (default " + EnvironmentDefaults.DEFAULT_URL + "); --url wins",
        "  ORRERY_API_KEY   the API key; --key wins",
        "",
        "Exit codes:",
        "  0   done; with --wait/--follow the run SUCCEEDED",
        "  1   the run finished FAILED or CANCELLED (or a replay diverged)",
        "  2   usage error: a bad flag, argument or file",
        "  3   the server refused the request (4xx); its error code is on stderr",
        "  4   server error (5xx) or the server cannot be reached",
        "  5   --timeout passed before the run finished"})
public final class RunsCommand implements Runnable {
  @Spec
  CommandSpec spec;

  @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
  boolean help;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a command: submit, list, status, cancel, approve, "
        + "journal, replay or fork");
  }
}
