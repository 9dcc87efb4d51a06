package dev.orrery.router.route;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Cheapest first: at each provider the cheapest model of at least the route's tier, then the providers
 * by what the call would cost there at most (its prompt and full {@code max_tokens} at list prices).
 */
public record CostAwarePolicy() implements RoutePolicy {
  @Override
  public List<Candidate> order(List<Candidate> candidates, RandomGenerator random) {
    List<Candidate> ordered = new ArrayList<>(candidates);
    ordered.sort(BY_COST);
    return ordered;
  }

  @Override
  public ModelSettings model(ProviderSettings provider, int tier, long promptTokens, int maxTokens) {
    ModelSettings cheapest = null;
    for (ModelSettings m : provider.models()) {
      if (m.tier() < tier) continue;
      if (cheapest == null || m.costMicros(promptTokens, maxTokens) < cheapest.costMicros(promptTokens, maxTokens)) {
        cheapest = m;
      }
    }
    return cheapest;
  }
}
