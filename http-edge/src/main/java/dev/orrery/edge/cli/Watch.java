package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/** Waits for a run (--wait) or shows it live (--follow), and answers the exit code its end deserves. */
final class Watch {
  private static final Map<String, String> STATUS_OF =
      Map.of("RunCompleted", "SUCCEEDED", "RunFailed", "FAILED", "RunCancelled", "CANCELLED");

  private final ClientCommand command;
  private final OrreryClient client;
  private final WaitOptions options;

  Watch(ClientCommand command, OrreryClient client, WaitOptions options) {
    this.command = command;
    this.client = client;
    this.options = options;
  }

  /** @param quiet print nothing on stdout, only the exit code tells */
  int watch(String runId, boolean quiet) {
    Deadline deadline = Deadline.after(options.timeout);
    return options.follow ? follow(runId, deadline, quiet) : await(runId, deadline, quiet);
  }

  private int await(String runId, Deadline deadline, boolean quiet) {
    RunPoller poller = new RunPoller(client, options.pollInterval, options.progressEvery);
    RunPoller.Outcome outcome = poller.await(runId, deadline, command.err());
    JsonNode run = outcome.run();
    if (!outcome.finished()) {
      // A script still learns the run and how far it got.
      if (command.json() && run != null) command.printJson(run);
      return timedOut(runId);
    }
    if (command.json()) {
      command.printJson(run);
    } else if (!quiet) {
      PrintWriter out = command.out();
      RunText.header(run).forEach(out::println);
      out.println();
      RunText.nodeTable(run).forEach(out::println);
    }
    return exitCode(run.path("status").asText());
  }

  private int follow(String runId, Deadline deadline, boolean quiet) {
    PrintWriter out = command.out();
    Consumer<JsonNode> render;
    if (command.json()) {
      render = message -> {
        out.println(OrreryClient.compact(message));
        out.flush();
      };
    } else if (quiet) {
      render = message -> { };
    } else {
      LivePrinter printer = new LivePrinter(out, new Timeline(16));
      out.println(printer.heading());
      render = printer;
    }
    Optional<JsonNode> end = new RunFollower(client, runId).follow(deadline, render);
    if (end.isEmpty()) {
      if (!command.json() && !quiet) out.println();
      return timedOut(runId);
    }
    String type = end.get().path("type").asText();
    if (!command.json() && !quiet) {
      try {
        RunText.summary(client.run(runId)).forEach(out::println);
      } catch (ApiException e) {
        // The stream told how the run ended; the totals are a nicety.
        out.println("run " + runId + " " + STATUS_OF.get(type));
      }
    }
    return type.equals("RunCompleted") ? ExitCodes.OK : ExitCodes.RUN_FAILED;
  }

  private int timedOut(String runId) {
    command.err().println("timed out after " + RunText.duration(options.timeout) + " waiting for run " + runId
        + " (it goes on; see: orrery runs status " + runId + ")");
    return ExitCodes.TIMED_OUT;
  }

  static int exitCode(String status) {
    return status.equals("SUCCEEDED") ? ExitCodes.OK : ExitCodes.RUN_FAILED;
  }

  /** Timeline lines for persisted events; a step's token deltas inline, on a line of their own per step. */
  static final class LivePrinter implements Consumer<JsonNode> {
    private final PrintWriter out;
    private final Timeline timeline;
    private String deltaStep;

    LivePrinter(PrintWriter out, Timeline timeline) {
      this.out = out;
      this.timeline = timeline;
    }

    String heading() {
      return timeline.heading();
    }

    @Override
    public void accept(JsonNode message) {
      if (message.path("type").asText().equals("StepDelta")) {
        String step = Timeline.node(message);
        String indent = " ".repeat(11) + " ".repeat(step.length()) + " | ";
        if (!step.equals(deltaStep)) {
          endDeltas();
          out.print(" ".repeat(11) + step + " | ");
          deltaStep = step;
        }
        out.print(message.path("data").path("text").asText("").replace("\n", "\n" + indent));
      } else {
        endDeltas();
        out.println(timeline.line(message));
      }
      out.flush();
    }

    private void endDeltas() {
      if (deltaStep != null) out.println();
      deltaStep = null;
    }
  }
}
