package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code orrery runs submit FILE}: {@code POST /api/v1/runs} with the file's workflow. */
@Command(name = "submit", defaultValueProvider = EnvironmentDefaults.class,
    description = "Submit a workflow file (YAML or JSON) as a new run and print its id.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {ExitCodes.OK_LINE, ExitCodes.RUN_FAILED_LINE, ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE,
        ExitCodes.UNAVAILABLE_LINE, ExitCodes.TIMED_OUT_LINE})
final class SubmitCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "FILE", description = "The workflow definition, a YAML or JSON file.")
  Path file;

  @Option(names = "--input", paramLabel = "NAME=VALUE",
      description = "An input of the run (repeatable). VALUE is JSON when it parses as JSON "
          + "(42, true, [1,2], {\"a\":1}, \"quoted\"), else a string.")
  Map<String, String> inputs = new LinkedHashMap<>();

  @Option(names = "--inputs-file", paramLabel = "FILE",
      description = "The run's inputs as a JSON or YAML object; --input values win.")
  Path inputsFile;

  @Option(names = "--budget", paramLabel = "TOKENS", description = "The run's token budget.")
  Long budget;

  @Option(names = "--idempotency-key", paramLabel = "KEY",
      description = "Submitting again with the same key returns the same run instead of a new one.")
  String idempotencyKey;

  @Option(names = {"-q", "--quiet"}, description = "Print only the run id (and with --wait, nothing more).")
  boolean quiet;

  @Mixin
  WaitOptions waiting;

  @Override
  int run(OrreryClient client) {
    if (budget != null && budget <= 0) throw new UsageError("--budget must be a positive number of tokens, was " + budget);
    ObjectNode body = OrreryClient.object();
    body.put("workflow", workflowText());
    body.set("inputs", Inputs.of(inputsFile, inputs));
    if (budget != null) body.put("token_budget", budget);

    JsonNode accepted = client.submit(body, idempotencyKey);
    String runId = accepted.path("run_id").asText();
    if (json()) {
      if (!waiting.any()) printJson(accepted);
    } else if (quiet) {
      out().println(runId);
    } else {
      out().println("run " + runId + " accepted: " + accepted.path("workflow").asText("?") + " v"
          + accepted.path("workflow_version").asText("?") + ", " + accepted.path("status").asText());
    }
    out().flush();
    return waiting.any() ? new Watch(this, client, waiting).watch(runId, quiet) : ExitCodes.OK;
  }

  private String workflowText() {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new UsageError("cannot read the workflow file " + file + ": " + e.getMessage());
    }
  }
}
