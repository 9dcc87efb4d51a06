package dev.orrery.router.route;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.random.RandomGenerator;

/**
 * A multi-armed bandit by Thompson sampling. For each candidate, per call:
 *
 * <pre>
 *   θ ~ Beta(1 + successes, 1 + failures)            decayed counts: about the last 20 attempts
 *   latency factor = ((Lmin + 100 ms) / (L + 100 ms))^0.25    L: its moving average; unknown = Lmin
 *   cost factor    = ((Cmin + 1 µ$) / (C + 1 µ$))^0.25        C: the call's estimated cost there
 *   score = θ · latency factor · cost factor
 * </pre>
 *
 * and candidates are tried by score, highest first. Success dominates: the sample θ explores a
 * provider in proportion to the chance that it is the best, and a failing one's θ sinks within a few
 * calls. The fourth roots make latency and cost tie-breakers of weight: ten times slower or dearer
 * costs a factor of about 0.56, which a clearly better success rate still outweighs. The 100 ms and
 * 1 µ$ offsets keep differences that do not matter (2 ms against 4 ms) from counting.
 */
public record BanditPolicy() implements RoutePolicy {
  static final double LATENCY_OFFSET_MS = 100;
  static final double COST_OFFSET_MICROS = 1;
  static final double LATENCY_EXPONENT = 0.25;
  static final double COST_EXPONENT = 0.25;

  @Override
  public List<Candidate> order(List<Candidate> candidates, RandomGenerator random) {
    double minLatency = Double.POSITIVE_INFINITY;
    double minCost = Double.POSITIVE_INFINITY;
    for (Candidate c : candidates) {
      if (c.stats().latencyKnown()) minLatency = Math.min(minLatency, c.stats().latencyMillis());
      minCost = Math.min(minCost, c.estimatedCostMicros());
    }
    Map<Candidate, Double> scores = new IdentityHashMap<>();
    for (Candidate c : candidates) {
      double theta = beta(1 + c.stats().successes(), 1 + c.stats().failures(), random);
      double latencyFactor = 1;
      if (c.stats().latencyKnown()) {
        latencyFactor = Math.pow(
            (minLatency + LATENCY_OFFSET_MS) / (c.stats().latencyMillis() + LATENCY_OFFSET_MS), LATENCY_EXPONENT);
      }
      double costFactor = Math.pow(
          (minCost + COST_OFFSET_MICROS) / (c.estimatedCostMicros() + COST_OFFSET_MICROS), COST_EXPONENT);
      scores.put(c, theta * latencyFactor * costFactor);
    }
    List<Candidate> ordered = new ArrayList<>(candidates);
    ordered.sort(Comparator.comparingDouble((Candidate c) -> scores.get(c)).reversed());
    return ordered;
  }

  /** Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
  static double beta(double a, double b, RandomGenerator random) {
    double x = gamma(a, random);
    double y = gamma(b, random);
    return x / (x + y);
  }

  /** Marsaglia and Tsang's method, for shape >= 1 (ours are 1 + a count). */
  static double gamma(double shape, RandomGenerator random) {
    double d = shape - 1.0 / 3.0;
    double c = 1.0 / Math.sqrt(9.0 * d);
    while (true) {
      double x;
      double v;
      do {
        x = random.nextGaussian();
        v = 1.0 + c * x;
      } while (v <= 0);
      v = v * v * v;
      double u = random.nextDouble();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }
}
