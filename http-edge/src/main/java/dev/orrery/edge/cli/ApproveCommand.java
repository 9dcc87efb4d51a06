package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code orrery runs approve RUN_ID NODE_ID}: {@code POST /api/v1/runs/{id}/approvals/{node}}. */
@Command(name = "approve", defaultValueProvider = EnvironmentDefaults.class,
    description = "Approve (or with --deny, deny) an approval node that a run waits on.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the decision was recorded", ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE,
        ExitCodes.UNAVAILABLE_LINE})
final class ApproveCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID")
  String runId;

  @Parameters(index = "1", paramLabel = "NODE_ID", description = "The approval node.")
  String nodeId;

  @Option(names = "--deny", description = "Deny instead of approve.")
  boolean deny;

  @Option(names = "--comment", paramLabel = "TEXT", description = "Recorded with the decision.")
  String comment;

  @Override
  int run(OrreryClient client) {
    JsonNode run = client.decide(runId, nodeId, !deny, comment);
    if (json()) {
      printJson(run);
    } else {
      out().println((deny ? "denied " : "approved ") + nodeId + " of run " + run.path("run_id").asText(runId)
          + "; the run is " + run.path("status").asText("?"));
    }
    return ExitCodes.OK;
  }
}
