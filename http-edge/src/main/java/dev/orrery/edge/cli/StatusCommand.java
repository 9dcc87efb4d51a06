package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code orrery runs status RUN_ID}: {@code GET /api/v1/runs/{id}}. */
@Command(name = "status", defaultValueProvider = EnvironmentDefaults.class,
    description = "Show a run: its status, usage and a table of its nodes.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the run was read (whatever its status)", ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE,
        ExitCodes.UNAVAILABLE_LINE})
final class StatusCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID")
  String runId;

  @Override
  int run(OrreryClient client) {
    JsonNode run = client.run(runId);
    if (json()) {
      printJson(run);
    } else {
      RunText.header(run).forEach(out()::println);
      out().println();
      RunText.nodeTable(run).forEach(out()::println);
    }
    return ExitCodes.OK;
  }
}
