package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.port.RouteDefinition;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a run's nodes resolved to when the run was accepted, recorded in {@link RunEvent.RunAccepted} so the
 * run finishes on what it started with while new runs take what is current: for each {@code agent} node
 * the version of its agent, for each {@code llm} and {@code map} node its route's definition. A step asks
 * its port for exactly these.
 *
 * <p>{@code recorded} is false for runs accepted before runs were pinned (their {@code RunAccepted} is of
 * version 1): such a run's agent nodes run the agent's active version and its LLM calls take the route as
 * configured when they are made, as they always did. A node missing from the maps was not pinned either
 * (its agent did not exist at acceptance, or its route could not be described).
 */
public record RunPins(
    @JsonProperty("recorded") boolean recorded,
    @JsonProperty("agents") Map<String, AgentPin> agents,
    @JsonProperty("routes") Map<String, RouteDefinition> routes) implements JsonSerializable {

  /** The pins of a run accepted before runs were pinned. */
  public static final RunPins NOT_RECORDED = new RunPins(false, Map.of(), Map.of());

  public RunPins {
    agents = agents == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(agents));
    routes = routes == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(routes));
  }

  /** An agent node's agent and the version it runs. */
  public record AgentPin(@JsonProperty("agent") String agent, @JsonProperty("version") int version)
      implements JsonSerializable {}

  /** The version an agent node runs, or null for the active one when it runs. */
  @JsonIgnore
  public Integer agentVersion(String nodeId) {
    AgentPin pin = agents.get(nodeId);
    return pin == null ? null : pin.version();
  }

  /** The route a node's calls are served over, or null for the route as configured when each is made. */
  @JsonIgnore
  public RouteDefinition route(String nodeId) {
    return routes.get(nodeId);
  }
}
