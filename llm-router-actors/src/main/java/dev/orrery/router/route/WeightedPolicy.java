package dev.orrery.router.route;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Weighted random: the first candidate is drawn with probability proportional to its weight, the next
 * from the rest the same way, so load splits by weight and the fallbacks are weighted too. Weight-0
 * providers are only fallbacks, in the route's order.
 */
public record WeightedPolicy(RouteSettings route) implements RoutePolicy {
  @Override
  public List<Candidate> order(List<Candidate> candidates, RandomGenerator random) {
    List<Candidate> left = new ArrayList<>(candidates);
    List<Candidate> ordered = new ArrayList<>(candidates.size());
    while (!left.isEmpty()) {
      double total = 0;
      for (Candidate c : left) total += route.weight(c.provider().name());
      if (total <= 0) {
        ordered.addAll(left);
        break;
      }
      double draw = random.nextDouble() * total;
      int chosen = left.size() - 1;
      for (int i = 0; i < left.size(); i++) {
        draw -= route.weight(left.get(i).provider().name());
        if (draw < 0) {
          chosen = i;
          break;
        }
      }
      ordered.add(left.remove(chosen));
    }
    return ordered;
  }
}
