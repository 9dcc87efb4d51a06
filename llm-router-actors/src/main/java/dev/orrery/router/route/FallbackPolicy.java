package dev.orrery.router.route;

import java.util.List;
import java.util.random.RandomGenerator;

/** Priority order: the route's providers as listed (e.g. OpenAI, then Anthropic, then a local server). */
public record FallbackPolicy() implements RoutePolicy {
  @Override
  public List<Candidate> order(List<Candidate> candidates, RandomGenerator random) {
    return candidates;
  }
}
