package dev.orrery.router.route;

import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * How a route orders its candidates: the first is tried first, the rest are its fallbacks in order.
 * Policies are pure functions of the candidates (in the route's priority order), their stats and a
 * random source, so tests drive them with a seeded one.
 */
public sealed interface RoutePolicy
    permits FallbackPolicy, WeightedPolicy, LeastLatencyPolicy, CostAwarePolicy, BanditPolicy {

  List<Candidate> order(List<Candidate> candidates, RandomGenerator random);

  /**
   * The model to ask this provider for when the request pins none: by default its first model of at
   * least the route's tier, or null when it has none.
   */
  default ModelSettings model(ProviderSettings provider, int tier, long promptTokens, int maxTokens) {
    for (ModelSettings m : provider.models()) {
      if (m.tier() >= tier) return m;
    }
    return null;
  }

  static RoutePolicy of(RouteSettings route) {
    switch (route.policy()) {
      case WEIGHTED:
        return new WeightedPolicy(route);
      case LEAST_LATENCY:
        return new LeastLatencyPolicy();
      case COST_AWARE:
        return new CostAwarePolicy();
      case BANDIT:
        return new BanditPolicy();
      default:
        return new FallbackPolicy();
    }
  }

  /** Most expensive last; ties keep the route's order (the sort is stable). */
  Comparator<Candidate> BY_COST = Comparator.comparingDouble(Candidate::estimatedCostMicros);
}
