package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code orrery runs replay RUN_ID}: the run's journal as a timeline, then {@code POST /api/v1/runs/{id}/replay}
 * to check that today's planner still decides what the journal recorded.
 */
@Command(name = "replay", defaultValueProvider = EnvironmentDefaults.class,
    description = {"Print a run as a timeline (time, node, event, step duration, tokens, cost), then replay its "
        + "journal on the server without calling any provider or tool, and report whether the run is "
        + "deterministic or where it first diverges."},
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the replay is deterministic", "1:the replay diverged from the journal", ExitCodes.USAGE_LINE,
        ExitCodes.REFUSED_LINE, ExitCodes.UNAVAILABLE_LINE})
final class ReplayCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID")
  String runId;

  @Override
  int run(OrreryClient client) {
    if (!json()) {
      JsonNode events = client.journal(runId, null).path("events");
      int width = 4;
      for (JsonNode event : events) width = Math.max(width, Math.min(32, Timeline.node(event).length()));
      Timeline timeline = new Timeline(width);
      out().println(timeline.heading());
      for (JsonNode event : events) out().println(timeline.line(event));
      out().println();
    }
    JsonNode report = client.replay(runId);
    boolean deterministic = report.path("deterministic").asBoolean(false);
    if (json()) {
      printJson(report);
    } else if (deterministic) {
      out().println("deterministic (" + report.path("events_checked").asLong() + " events)");
    } else {
      JsonNode divergence = report.path("divergence");
      out().println("not deterministic: diverges at event " + divergence.path("seq").asText("?") + ": "
          + divergence.path("reason").asText(""));
      if (divergence.has("expected")) out().println("  expected (journal): " + OrreryClient.compact(divergence.get("expected")));
      if (divergence.has("actual")) out().println("  actual (replay):    " + OrreryClient.compact(divergence.get("actual")));
    }
    return deterministic ? ExitCodes.OK : ExitCodes.RUN_FAILED;
  }
}
