package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.JsonSerializable;
import java.time.Instant;

/**
 * How an invocation ended: its result, or the code and message of its failure, with what served it and
 * what it used over all its turns.
 *
 * @param provider the provider of the last model reply (null when none answered)
 */
public record AgentAnswer(
    @JsonProperty("instance_id") String instanceId,
    @JsonProperty("invocation_id") String invocationId,
    @JsonProperty("agent") String agent,
    @JsonProperty("version") int version,
    @JsonProperty("result") JsonNode result,
    @JsonProperty("error_code") String errorCode,
    @JsonProperty("error_message") String errorMessage,
    @JsonProperty("usage") Usage usage,
    @JsonProperty("provider") String provider,
    @JsonProperty("model") String model,
    @JsonProperty("turns") int turns,
    @JsonProperty("tool_calls") int toolCalls,
    @JsonProperty("started_at") Instant startedAt,
    @JsonProperty("finished_at") Instant finishedAt) implements JsonSerializable {

  public boolean succeeded() {
    return errorCode == null;
  }
}
