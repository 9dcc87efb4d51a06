package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code orrery runs cancel RUN_ID}: {@code POST /api/v1/runs/{id}/cancel}. */
@Command(name = "cancel", defaultValueProvider = EnvironmentDefaults.class,
    description = "Cancel a run: steps in flight are abandoned, nothing new starts.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the cancel was accepted (a run already finished keeps its status)", ExitCodes.USAGE_LINE,
        ExitCodes.REFUSED_LINE, ExitCodes.UNAVAILABLE_LINE})
final class CancelCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID")
  String runId;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why, for the journal.")
  String reason;

  @Override
  int run(OrreryClient client) {
    JsonNode run = client.cancel(runId, reason);
    if (json()) {
      printJson(run);
    } else {
      out().println("run " + run.path("run_id").asText(runId) + " " + run.path("status").asText());
    }
    return ExitCodes.OK;
  }
}
