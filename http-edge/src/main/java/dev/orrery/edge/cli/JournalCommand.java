package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code orrery runs journal RUN_ID}: {@code GET /api/v1/runs/{id}/journal}. */
@Command(name = "journal", defaultValueProvider = EnvironmentDefaults.class,
    description = "List a run's persisted events in order: sequence number, time, event, node and data.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the journal was read", ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE, ExitCodes.UNAVAILABLE_LINE})
final class JournalCommand extends ClientCommand {
  @Parameters(index = "0", paramLabel = "RUN_ID")
  String runId;

  @Option(names = "--from-seq", paramLabel = "N", description = "Start at this sequence number (default 1).")
  Long fromSeq;

  @Override
  int run(OrreryClient client) {
    if (fromSeq != null && fromSeq < 1) throw new UsageError("--from-seq must be 1 or more, was " + fromSeq);
    JsonNode journal = client.journal(runId, fromSeq);
    if (json()) {
      printJson(journal);
      return ExitCodes.OK;
    }
    RunText.Table table = new RunText.Table("SEQ", "AT", "EVENT", "NODE", "DATA");
    for (JsonNode event : journal.path("events")) {
      table.row(event.path("seq").asText(), event.path("at").asText(""), event.path("type").asText(),
          Timeline.node(event), RunText.clip(OrreryClient.compact(event.path("data")), 100));
    }
    table.lines().forEach(out()::println);
    return ExitCodes.OK;
  }
}
