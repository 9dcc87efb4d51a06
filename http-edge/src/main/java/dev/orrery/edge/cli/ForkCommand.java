package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code orrery runs fork RUN_ID --node N}: {@code POST /api/v1/runs/{id}/fork}. */
@Command(name = "fork", defaultValueProvider = EnvironmentDefaults.class,
    description = {"Start a new run from a run: the recorded outputs of every node that does not depend on "
        + "--node are reused, --node and what follows it run again, with the overrides given."},
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.RUN_FAILED_LINE, ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE,
        ExitCodes.UNAVAILABLE_LINE, ExitCodes.TIMED_OUT_LINE})
final class ForkCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID", description = "The run to fork.")
  String runId;

  @Option(names = "--node", paramLabel = "NODE_ID", required = true, description = "The node to run again.")
  String nodeId;

  @Option(names = "--input", paramLabel = "NAME=VALUE",
      description = "An input to change (repeatable); VALUE is JSON when it parses as JSON, else a string.")
  Map<String, String> inputs = new LinkedHashMap<>();

  @Option(names = "--inputs-file", paramLabel = "FILE", description = "Inputs to change, a JSON or YAML object.")
  Path inputsFile;

  @Option(names = "--prompt", paramLabel = "TEXT", description = "A new prompt for --node.")
  String prompt;

  @Option(names = "--model", paramLabel = "MODEL", description = "A model for --node.")
  String model;

  @Option(names = "--route", paramLabel = "ROUTE", description = "A route for --node.")
  String route;

  @Option(names = "--idempotency-key", paramLabel = "KEY",
      description = "Forking again with the same key returns the same fork instead of a new one.")
  String idempotencyKey;

  @Option(names = {"-q", "--quiet"}, description = "Print only the new run's id (and with --wait, nothing more).")
  boolean quiet;

  @Mixin
  WaitOptions waiting;

  @Override
  int run(OrreryClient client) {
    ObjectNode body = OrreryClient.object().put("node_id", nodeId);
    ObjectNode changed = Inputs.of(inputsFile, inputs);
    if (!changed.isEmpty()) body.set("inputs", changed);
    if (prompt != null) body.put("prompt", prompt);
    if (model != null) body.put("model", model);
    if (route != null) body.put("route", route);

    JsonNode fork = client.fork(runId, body, idempotencyKey);
    String forkId = fork.path("run_id").asText();
    if (json()) {
      if (!waiting.any()) printJson(fork);
    } else if (quiet) {
      out().println(forkId);
    } else {
      out().println("run " + forkId + " forked from " + runId + " at " + nodeId + ": "
          + fork.path("workflow").asText("?") + " v" + fork.path("workflow_version").asText("?") + ", "
          + fork.path("status").asText());
    }
    out().flush();
    return waiting.any() ? new Watch(this, client, waiting).watch(forkId, quiet) : ExitCodes.OK;
  }
}
