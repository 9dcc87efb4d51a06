package dev.orrery.core.stream;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunFormats;
import java.time.Instant;
import java.util.Set;

/**
 * One message of a run's stream, as the journal lists it and as {@code /stream} and {@code /events} send
 * it: {@code {seq, type, version, run_id, node_id, at, data}}. A persisted event has its journal sequence
 * number and the version of its type's format that {@code data} has (docs/replay.md, "Event versions");
 * a token delta ({@code StepDelta}) has none and is {@code ephemeral}: it is never stored and a client
 * that reconnects does not see it again.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunUpdate(
    @JsonProperty("seq") Long seq,
    @JsonProperty("type") String type,
    @JsonProperty("version") Integer version,
    @JsonProperty("run_id") String runId,
    @JsonProperty("node_id") String nodeId,
    @JsonProperty("at") Instant at,
    @JsonProperty("ephemeral") Boolean ephemeral,
    @JsonProperty("data") JsonNode data) implements JsonSerializable {

  public static final String DELTA = "StepDelta";
  /** Internal: how far the run's journal is, so a subscriber can fetch what the live topic did not bring. */
  static final String POSITION = "Position";
  /** Internal: the run has ended at {@code seq}; nothing more will come. */
  static final String FINAL_POSITION = "FinalPosition";
  private static final Set<String> TERMINAL = Set.of("RunCompleted", "RunFailed", "RunCancelled");

  public static RunUpdate persisted(long seq, String runId, RunEvent event, ObjectMapper json) {
    return new RunUpdate(seq, event.getClass().getSimpleName(), RunFormats.version(event.getClass()), runId,
        event.nodeId(), event.at(), null, json.valueToTree(event));
  }

  public static RunUpdate delta(String runId, String nodeId, Integer item, int attempt, String text, Instant at,
      ObjectMapper json) {
    var data = json.createObjectNode();
    if (item != null) data.put("item", item);
    data.put("attempt", attempt);
    data.put("text", text);
    return new RunUpdate(null, DELTA, null, runId, nodeId, at, true, data);
  }

  /** This delta followed by {@code next} of the same step, as one. */
  RunUpdate withMoreText(RunUpdate next) {
    var merged = ((com.fasterxml.jackson.databind.node.ObjectNode) data).deepCopy();
    merged.put("text", data.path("text").asText() + next.data().path("text").asText());
    return new RunUpdate(seq, type, version, runId, nodeId, at, ephemeral, merged);
  }

  static RunUpdate position(String runId, long seq, boolean finished) {
    return new RunUpdate(seq, finished ? FINAL_POSITION : POSITION, null, runId, null, null, true, null);
  }

  // Not @JsonIgnore: on a record, Jackson would then ignore the "ephemeral" component when reading too, and a
  // delta that crossed to another node would reach its clients without the flag. The component, annotated
  // explicitly, is what Jackson writes.
  public boolean isEphemeral() {
    return seq == null || Boolean.TRUE.equals(ephemeral);
  }

  /** The run's last event: a stream ends after it. */
  @JsonIgnore
  public boolean isTerminal() {
    return seq != null && TERMINAL.contains(type);
  }

  @JsonIgnore
  boolean isPosition() {
    return POSITION.equals(type) || FINAL_POSITION.equals(type);
  }
}
