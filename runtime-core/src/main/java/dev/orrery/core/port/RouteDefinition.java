package dev.orrery.core.port;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * A route as the router defined it for one kind of call at one moment: its policy, the least model tier
 * it takes, and the provider/model pairs it may use, in its priority order. A run records one for each of
 * its {@code llm} and {@code map} nodes when it is accepted (a run finishes on what it started with), and
 * its steps hand it back with every call ({@link LlmRequest#pinnedRoute()}).
 *
 * @param route the route's name ({@code default} for a node that names neither route nor model)
 * @param model the model the node pins, or null
 * @param policy {@code fallback}, {@code weighted}, {@code least-latency}, {@code cost-aware} or {@code bandit}
 * @param candidates in priority order; a provider appears once per model the policy may pick there
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record RouteDefinition(
    @JsonProperty("route") String route,
    @JsonProperty("model") String model,
    @JsonProperty("policy") String policy,
    @JsonProperty("tier") int tier,
    @JsonProperty("candidates") List<Candidate> candidates) {

  public RouteDefinition {
    if (route == null || route.isBlank()) throw new IllegalArgumentException("a route definition needs its route");
    if (policy == null || policy.isBlank()) throw new IllegalArgumentException("route " + route + " needs a policy");
    candidates = List.copyOf(candidates);
    if (candidates.isEmpty()) throw new IllegalArgumentException("route " + route + " has no candidates");
  }

  /** A provider and a model it serves; {@code weight} only for a {@code weighted} route. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Candidate(
      @JsonProperty("provider") String provider,
      @JsonProperty("model") String model,
      @JsonProperty("weight") Double weight) {

    public Candidate {
      if (provider == null || provider.isBlank()) throw new IllegalArgumentException("a candidate needs a provider");
      if (model == null || model.isBlank()) throw new IllegalArgumentException("candidate " + provider + " needs a model");
    }
  }
}
