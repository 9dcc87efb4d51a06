package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code orrery runs list}: {@code GET /api/v1/runs?status=&since=&limit=&cursor=}, page by page. */
@Command(name = "list", defaultValueProvider = EnvironmentDefaults.class,
    description = "List the tenant's runs, newest first.",
    exitCodeListHeading = ExitCodes.HEADING,
    exitCodeList = {"0:the runs were listed", ExitCodes.USAGE_LINE, ExitCodes.REFUSED_LINE, ExitCodes.UNAVAILABLE_LINE})
final class ListCommand extends ClientCommand {
  @Option(names = "--status", paramLabel = "STATUS",
      description = "Only runs in these statuses, comma-separated: PENDING, RUNNING, AWAITING_APPROVAL, "
          + "AWAITING_BUDGET, SUCCEEDED, FAILED, CANCELLED.")
  String status;

  @Option(names = "--since", paramLabel = "WHEN", converter = TimeArguments.Since.class,
      description = "Only runs accepted since then: an instant (2026-01-31T12:00:00Z) or a duration back from now (1h, 30m, 7d).")
  Instant since;

  @Option(names = "--limit", paramLabel = "N", description = "Runs per page (the server's default when absent).")
  Integer limit;

  @Option(names = "--cursor", paramLabel = "CURSOR", description = "The page after this cursor (from a previous page).")
  String cursor;

  @Option(names = "--all", description = "Follow the pages to the end.")
  boolean all;

  @Override
  int run(OrreryClient client) {
    if (limit != null && limit < 1) throw new UsageError("--limit must be 1 or more, was " + limit);
    String wanted = status == null ? null : status.toUpperCase(Locale.ROOT);
    JsonNode page = client.list(wanted, since, limit, cursor);
    if (all) page = allPages(client, wanted, page);
    if (json()) {
      printJson(page);
      return ExitCodes.OK;
    }
    RunText.Table table = new RunText.Table("RUN_ID", "WORKFLOW", "STATUS", "ACCEPTED", "TOOK", "TOKENS", "COST");
    for (JsonNode run : page.path("runs")) {
      var took = RunText.between(run.path("accepted_at"), run.path("finished_at"));
      table.row(run.path("run_id").asText(), run.path("workflow").asText(""), run.path("status").asText(),
          run.path("accepted_at").asText(""), took == null ? "" : RunText.duration(took),
          Long.toString(RunText.tokens(run.path("usage"))), RunText.dollars(run.path("usage").path("cost_micros").asLong()));
    }
    table.lines().forEach(out()::println);
    if (page.hasNonNull("next_cursor")) {
      out().println("(more: --cursor " + page.get("next_cursor").asText() + ", or --all)");
    }
    return ExitCodes.OK;
  }

  /** Every page's runs in one answer of the same shape, without a next cursor. */
  private JsonNode allPages(OrreryClient client, String wanted, JsonNode first) {
    ArrayNode runs = OrreryClient.json().createArrayNode();
    Set<String> seen = new HashSet<>();
    JsonNode page = first;
    while (true) {
      runs.addAll((ArrayNode) page.withArray("runs"));
      String next = page.path("next_cursor").asText(null);
      if (next == null || !seen.add(next)) break;
      page = client.list(wanted, since, limit, next);
    }
    ObjectNode answer = OrreryClient.object();
    answer.set("runs", runs);
    return answer;
  }
}
