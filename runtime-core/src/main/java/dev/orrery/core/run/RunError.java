package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;

/** Why a step or a run failed: a code of the edge contract's vocabulary and a message a user can act on. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RunError(
    @JsonProperty("code") String code,
    @JsonProperty("message") String message,
    @JsonProperty("node_id") String nodeId) implements JsonSerializable {

  public static RunError of(String code, String message) {
    return new RunError(code, message, null);
  }

  public RunError atNode(String node) {
    return new RunError(code, message, node);
  }
}
