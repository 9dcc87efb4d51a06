package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.Objects;

/**
 * One thing wrong with a workflow or with a run's inputs, located so a user can find it.
 *
 * @param path where, e.g. {@code nodes[2].depends_on[0]} or {@code nodes[report].when}
 * @param code a stable machine-readable code, e.g. {@code UNKNOWN_DEPENDENCY}
 * @param message what is wrong, in words a user can act on
 */
public record Problem(
    @JsonProperty("path") String path,
    @JsonProperty("code") String code,
    @JsonProperty("message") String message) {

  public Problem {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(message, "message");
    path = path == null ? "" : path;
  }

  @Override
  public String toString() {
    return (path.isEmpty() ? "" : path + ": ") + message + " [" + code + "]";
  }
}
