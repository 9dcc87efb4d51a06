package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import java.util.Map;

/**
 * Where a forked run came from: the original run, the node the fork changes, and the recorded outputs of
 * the original's nodes that do not depend on that node, which the fork takes instead of running them.
 */
public record ForkOrigin(
    @JsonProperty("run_id") String runId,
    @JsonProperty("node_id") String nodeId,
    @JsonProperty("reused") Map<String, Reused> reused) implements JsonSerializable {

  public ForkOrigin {
    reused = reused == null ? Map.of() : Map.copyOf(reused);
  }

  /** A node's output as the original run recorded it, with the provider and model that produced it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Reused(
      @JsonProperty("output") Object output,
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model) implements JsonSerializable {}
}
