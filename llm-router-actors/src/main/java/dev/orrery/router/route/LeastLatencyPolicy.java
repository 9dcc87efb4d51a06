package dev.orrery.router.route;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Fastest first, by each provider's moving average of attempt latency. A provider never measured comes
 * first, so every provider gets measured; ties keep the route's order.
 */
public record LeastLatencyPolicy() implements RoutePolicy {
  @Override
  public List<Candidate> order(List<Candidate> candidates, RandomGenerator random) {
    List<Candidate> ordered = new ArrayList<>(candidates);
    ordered.sort(Comparator.comparingDouble(c -> c.stats().latencyKnown() ? c.stats().latencyMillis() : -1));
    return ordered;
  }
}
