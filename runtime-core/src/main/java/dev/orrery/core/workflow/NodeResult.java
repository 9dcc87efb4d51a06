package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a finished node left for the nodes after it: templates and conditions see it as
 * {@code <id>.status} and {@code <id>.output}.
 *
 * @param status {@code SUCCEEDED} or {@code SKIPPED}
 * @param output the node's output (a string, or the parsed JSON of a node with an output schema; a map
 *     node's list of item outputs); null when skipped
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeResult(@JsonProperty("status") String status, @JsonProperty("output") Object output) {
  public static final String SUCCEEDED = "SUCCEEDED";
  public static final String SKIPPED = "SKIPPED";

  public NodeResult {
    if (!SUCCEEDED.equals(status) && !SKIPPED.equals(status)) {
      throw new IllegalArgumentException("status must be SUCCEEDED or SKIPPED, was " + status);
    }
    output = JsonValues.freeze(output);
  }

  public static NodeResult succeeded(Object output) {
    return new NodeResult(SUCCEEDED, output);
  }

  public static NodeResult skipped() {
    return new NodeResult(SKIPPED, null);
  }
}
