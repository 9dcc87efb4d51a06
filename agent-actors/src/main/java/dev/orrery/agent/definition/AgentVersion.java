package dev.orrery.agent.definition;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import java.time.Instant;

/**
 * One version of an agent. Bundled definitions (the classpath examples and the catalog directory) are
 * version 1 for every tenant; a tenant's first created definition of a name is the next version after
 * the bundled one (or 1), and each later one adds one.
 *
 * @param bundled whether every tenant sees it (shipped with the node) rather than one tenant created it
 * @param createdAt when the version was created; null for bundled ones
 */
public record AgentVersion(
    @JsonProperty("name") String name,
    @JsonProperty("version") int version,
    @JsonProperty("definition") AgentDefinition definition,
    @JsonProperty("bundled") boolean bundled,
    @JsonProperty("created_at") Instant createdAt) implements JsonSerializable {

  public AgentVersion {
    if (version < 1) throw new IllegalArgumentException("a version starts at 1, was " + version);
    if (!definition.name().equals(name)) {
      throw new IllegalArgumentException("version of '" + name + "' holds definition '" + definition.name() + "'");
    }
  }
}
