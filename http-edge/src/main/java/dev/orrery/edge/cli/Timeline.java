package dev.orrery.edge.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A run's events as a readable timeline, one line per event: the time since the first event, the node
 * (with its map item), the event, how long the step took (on a step's success or failure), its tokens and
 * cost, and what happened. Used for a journal ({@code replay}) and for the live stream ({@code --follow}).
 */
final class Timeline {
  private final int nodeWidth;
  private final Map<String, Instant> scheduled = new HashMap<>();
  private Instant first;

  /** @param nodeWidth the width of the node column (the longest node id, when known up front) */
  Timeline(int nodeWidth) {
    this.nodeWidth = Math.max(4, nodeWidth);
  }

  /** The column titles, aligned with {@link #line}. */
  String heading() {
    return format("TIME", "NODE", "EVENT", "TOOK", "TOKENS", "COST", "");
  }

  /** The line of one event {@code {seq, type, at, node_id, data}}. */
  String line(JsonNode event) {
    String type = event.path("type").asText();
    JsonNode data = event.path("data");
    Instant at = RunText.instant(event.path("at"));
    if (first == null && at != null) first = at;
    String offset = at == null ? "" : "+" + seconds(Duration.between(first, at));

    String step = event.path("node_id").asText("") + "/" + data.path("item").asText("") + "/" + data.path("attempt").asText("");
    String took = "";
    if (type.equals("StepScheduled") && at != null) {
      scheduled.put(step, at);
    } else if (type.equals("StepSucceeded") || type.equals("StepFailed")) {
      Instant start = scheduled.remove(step);
      if (start != null && at != null) took = seconds(Duration.between(start, at));
    }
    JsonNode usage = data.path("usage");
    String tokens = usage.isObject() ? Long.toString(RunText.tokens(usage)) : "";
    String cost = usage.isObject() ? RunText.dollars(usage.path("cost_micros").asLong()) : "";
    return format(offset, node(event), type, took, tokens, cost, detail(type, data));
  }

  private String format(String offset, String node, String type, String took, String tokens, String cost, String detail) {
    return String.format(Locale.ROOT, "%9s  %-" + nodeWidth + "s  %-18s  %7s  %6s  %-9s  %s",
        offset, node, type, took, tokens, cost, detail).stripTrailing();
  }

  /** The node id, with the item of a map node's step: {@code per_section[2]}. */
  static String node(JsonNode event) {
    String node = event.path("node_id").asText("");
    JsonNode item = event.path("data").path("item");
    return item.isIntegralNumber() ? node + "[" + item.asInt() + "]" : node;
  }

  private static String detail(String type, JsonNode data) {
    switch (type) {
      case "RunAccepted": {
        JsonNode spec = data.path("spec");
        JsonNode fork = data.path("fork");
        return join("workflow " + spec.path("name").asText("?") + " v" + spec.path("version").asText("?"),
            fork.isObject() ? "forked from run " + fork.path("run_id").asText("?") + " at " + fork.path("node_id").asText("?") : "");
      }
      case "NodeSkipped":
        return data.path("reason").asText("");
      case "MapExpanded":
        return data.path("items").size() + " items";
      case "StepScheduled":
        return attempt(data);
      case "StepSucceeded": {
        String model = data.hasNonNull("model")
            ? data.get("model").asText() + (data.hasNonNull("provider") ? " via " + data.get("provider").asText() : "")
            : "";
        String output = data.has("output") ? "-> " + RunText.clip(text(data.get("output")), 48) : "";
        return join(attempt(data).equals("attempt 1") ? "" : attempt(data), model, output);
      }
      case "StepFailed":
        return join(attempt(data), RunText.error(data.path("error")) + (data.path("retryable").asBoolean() ? " (retryable)" : ""));
      case "StepRetryScheduled":
        return "attempt " + data.path("attempt").asText("?") + " in " + data.path("delay_ms").asLong() + "ms";
      case "BudgetExhausted":
      case "NodeFailed":
      case "RunFailed":
        return RunText.error(data.path("error"));
      case "ApprovalRequested":
        return join("\"" + RunText.clip(data.path("message").asText(""), 60) + "\"",
            data.hasNonNull("deadline") ? "(at " + data.get("deadline").asText() + ": "
                + data.path("default_decision").asText("deny") + ")" : "");
      case "ApprovalGranted":
      case "ApprovalDenied":
        return join(data.hasNonNull("by") ? "by " + data.get("by").asText() : "",
            data.hasNonNull("comment") ? "\"" + RunText.clip(data.get("comment").asText(), 60) + "\"" : "");
      case "NodeReused":
        return join("output reused from run " + data.path("from_run").asText("?"),
            data.hasNonNull("model") ? data.get("model").asText() : "");
      case "RunCompleted": {
        StringBuilder names = new StringBuilder();
        data.path("outputs").fieldNames().forEachRemaining(n -> names.append(names.length() == 0 ? "" : ", ").append(n));
        return names.length() == 0 ? "" : "outputs: " + names;
      }
      case "RunCancelled":
        return data.path("reason").asText("");
      default:
        return "";
    }
  }

  private static String attempt(JsonNode data) {
    return data.has("attempt") ? "attempt " + data.get("attempt").asText() : "";
  }

  private static String text(JsonNode value) {
    return value.isTextual() ? value.asText() : OrreryClient.compact(value);
  }

  private static String join(String... parts) {
    StringBuilder joined = new StringBuilder();
    for (String part : parts) {
      if (part.isEmpty()) continue;
      if (joined.length() > 0) joined.append("  ");
      joined.append(part);
    }
    return joined.toString();
  }

  private static String seconds(Duration d) {
    return String.format(Locale.ROOT, "%.3fs", Math.max(0, d.toNanos()) / 1e9);
  }
}
