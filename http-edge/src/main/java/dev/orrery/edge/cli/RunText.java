package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** How runs read in a terminal: headers, node tables, progress lines, money, tokens and durations. */
final class RunText {
  private static final Set<String> NODE_DONE = Set.of("SUCCEEDED", "FAILED", "SKIPPED", "CANCELLED");

  private RunText() {}

  /** {@code run <id>  <workflow> v<n>  <STATUS>} and a line of times, tokens and cost; then the error. */
  static List<String> header(JsonNode run) {
    List<String> lines = new ArrayList<>();
    lines.add("run " + run.path("run_id").asText() + "  " + run.path("workflow").asText("?")
        + " v" + run.path("workflow_version").asText("?") + "  " + run.path("status").asText());
    StringBuilder facts = new StringBuilder("  created " + run.path("created_at").asText("?"));
    Duration took = between(run.path("created_at"), run.path("finished_at"));
    if (took != null) facts.append("  took ").append(duration(took));
    JsonNode usage = run.path("usage");
    facts.append("  tokens ").append(usage.path("tokens_in").asLong()).append(" in / ")
        .append(usage.path("tokens_out").asLong()).append(" out  cost ").append(dollars(usage.path("cost_micros").asLong()));
    lines.add(facts.toString());
    if (run.hasNonNull("error")) lines.add("  error: " + error(run.get("error")));
    return lines;
  }

  /** One row per node: status, attempts, items, model, tokens, cost, time, and why it failed or skipped. */
  static List<String> nodeTable(JsonNode run) {
    Table table = new Table("NODE", "STATUS", "ATTEMPTS", "ITEMS", "MODEL", "TOKENS", "COST", "TIME", "NOTE");
    Iterator<Map.Entry<String, JsonNode>> nodes = run.path("nodes").fields();
    while (nodes.hasNext()) {
      Map.Entry<String, JsonNode> entry = nodes.next();
      JsonNode n = entry.getValue();
      JsonNode usage = n.path("usage");
      Duration took = between(n.path("started_at"), n.path("finished_at"));
      String note = n.hasNonNull("error") ? error(n.get("error"))
          : n.hasNonNull("skip_reason") ? n.get("skip_reason").asText() : "";
      boolean used = usage.isObject() && (tokens(usage) > 0 || usage.path("cost_micros").asLong() > 0);
      table.row(entry.getKey(), n.path("status").asText(), n.path("attempts").asInt() > 0 ? n.get("attempts").asText() : "",
          n.hasNonNull("items") ? n.get("items").asText() : "",
          n.path("model").asText(""),
          used ? Long.toString(tokens(usage)) : "",
          used ? dollars(usage.path("cost_micros").asLong()) : "",
          took == null ? "" : duration(took), note);
    }
    return table.lines();
  }

  /** {@code run <id> RUNNING  12s  nodes 2/5 done}, and which approval it waits for. */
  static String progress(JsonNode run, Duration elapsed) {
    String status = run.path("status").asText();
    StringBuilder line = new StringBuilder("run " + run.path("run_id").asText() + " " + status + "  "
        + duration(elapsed) + "  nodes " + nodesDone(run) + "/" + run.path("nodes").size() + " done");
    if (status.equals("AWAITING_APPROVAL")) {
      run.path("nodes").fields().forEachRemaining(e -> {
        if (e.getValue().path("status").asText().equals("AWAITING_APPROVAL")) {
          line.append("  (approve with: orrery runs approve ").append(run.path("run_id").asText())
              .append(' ').append(e.getKey()).append(')');
        }
      });
    }
    return line.toString();
  }

  /** {@code run <id> SUCCEEDED in 2.4s: 3/3 nodes, 460 tokens, $0.000123}, and the error of a failed run. */
  static List<String> summary(JsonNode run) {
    List<String> lines = new ArrayList<>();
    Duration took = between(run.path("created_at"), run.path("finished_at"));
    lines.add("run " + run.path("run_id").asText() + " " + run.path("status").asText()
        + (took == null ? "" : " in " + duration(took)) + ": " + nodesDone(run) + "/" + run.path("nodes").size()
        + " nodes, " + tokens(run.path("usage")) + " tokens, " + dollars(run.path("usage").path("cost_micros").asLong()));
    if (run.hasNonNull("error")) lines.add("  error: " + error(run.get("error")));
    return lines;
  }

  static long nodesDone(JsonNode run) {
    long done = 0;
    for (JsonNode n : run.path("nodes")) {
      if (NODE_DONE.contains(n.path("status").asText())) done++;
    }
    return done;
  }

  /** {@code CODE: message (node x)}. */
  static String error(JsonNode error) {
    String text = error.path("code").asText("ERROR") + ": " + error.path("message").asText("");
    if (error.hasNonNull("node_id")) text += " (node " + error.get("node_id").asText() + ")";
    return text;
  }

  static long tokens(JsonNode usage) {
    return usage.path("tokens_in").asLong() + usage.path("tokens_out").asLong();
  }

  /** Micro-dollars as dollars, exactly: 72 → {@code $0.000072}. */
  static String dollars(long micros) {
    return "$" + BigDecimal.valueOf(micros, 6).toPlainString();
  }

  /** {@code 850ms}, {@code 2.4s}, {@code 3m04s}, {@code 1h02m}. */
  static String duration(Duration d) {
    long ms = Math.max(0, d.toMillis());
    if (ms < 1000) return ms + "ms";
    if (ms < 60_000) return String.format(Locale.ROOT, "%.1fs", ms / 1000.0);
    long s = ms / 1000;
    if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
  }

  /** A JSON timestamp (ISO-8601, or seconds since the epoch), or null. */
  static Instant instant(JsonNode at) {
    if (at == null || at.isNull() || at.isMissingNode()) return null;
    if (at.isNumber()) {
      BigDecimal seconds = at.decimalValue();
      return Instant.ofEpochSecond(seconds.longValue(), seconds.remainder(BigDecimal.ONE).movePointRight(9).longValue());
    }
    try {
      return Instant.parse(at.asText());
    } catch (DateTimeParseException e) {
      return null;
    }
  }

  static Duration between(JsonNode from, JsonNode to) {
    Instant a = instant(from);
    Instant b = instant(to);
    return a == null || b == null ? null : Duration.between(a, b);
  }

  /** One line, at most {@code max} characters. */
  static String clip(String text, int max) {
    String flat = text.replaceAll("\\s+", " ").strip();
    return flat.length() <= max ? flat : flat.substring(0, Math.max(0, max - 1)) + "…";
  }

  /** Columns as wide as their widest cell, two spaces apart. */
  static final class Table {
    private final List<String[]> rows = new ArrayList<>();
    private final int columns;

    Table(String... headers) {
      this.columns = headers.length;
      rows.add(headers);
    }

    void row(String... cells) {
      if (cells.length != columns) throw new IllegalArgumentException(columns + " cells expected, got " + cells.length);
      rows.add(cells);
    }

    List<String> lines() {
      int[] widths = new int[columns];
      for (String[] row : rows) {
        for (int i = 0; i < columns; i++) widths[i] = Math.max(widths[i], row[i].length());
      }
      List<String> lines = new ArrayList<>();
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < columns; i++) {
          line.append(row[i]);
          if (i < columns - 1) line.append(" ".repeat(widths[i] - row[i].length() + 2));
        }
        lines.add(line.toString().stripTrailing());
      }
      return lines;
    }
  }
}
