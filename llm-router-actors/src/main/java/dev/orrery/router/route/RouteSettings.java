package dev.orrery.router.route;

import com.typesafe.config.Config;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A named route, read once from {@code orrery.llm.routes.<name>} (merged over
 * {@code orrery.llm.route-defaults}).
 *
 * @param providers the providers it may use, in priority order (for {@code fallback}, and to break ties)
 * @param weights each provider's weight for {@code weighted} (a provider not named weighs 1)
 * @param tier the least model tier it accepts (1..3); models below it are not candidates
 * @param cache whether identical temperature-0 requests are answered from the response cache
 */
public record RouteSettings(
    String name, Policy policy, List<String> providers, Map<String, Double> weights, int tier, boolean cache) {

  public enum Policy {
    FALLBACK, WEIGHTED, LEAST_LATENCY, COST_AWARE, BANDIT;

    static Policy parse(String route, String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("route " + route
            + ": policy must be fallback, weighted, least-latency, cost-aware or bandit, was '" + value + "'");
      }
    }
  }

  public RouteSettings {
    if (name == null || name.isBlank()) throw new IllegalArgumentException("a route needs a name");
    if (policy == null) throw new IllegalArgumentException("route " + name + " needs a policy");
    providers = List.copyOf(providers);
    if (providers.isEmpty()) throw new IllegalArgumentException("route " + name + " names no providers");
    if (providers.stream().distinct().count() != providers.size()) {
      throw new IllegalArgumentException("route " + name + " names a provider twice: " + providers);
    }
    weights = Map.copyOf(weights);
    for (Map.Entry<String, Double> w : weights.entrySet()) {
      if (!providers.contains(w.getKey())) {
        throw new IllegalArgumentException("route " + name + " weighs provider " + w.getKey() + ", which it does not use");
      }
      if (!(w.getValue() >= 0)) {
        throw new IllegalArgumentException("route " + name + ": weight of " + w.getKey() + " must be >= 0, was " + w.getValue());
      }
    }
    Map<String, Double> given = weights;
    if (policy == Policy.WEIGHTED && providers.stream().allMatch(p -> weightOf(given, p) == 0)) {
      throw new IllegalArgumentException("route " + name + ": every weight is 0");
    }
    if (tier < 1 || tier > 3) throw new IllegalArgumentException("route " + name + ": tier must be 1..3, was " + tier);
  }

  public double weight(String provider) {
    return weightOf(weights, provider);
  }

  private static double weightOf(Map<String, Double> weights, String provider) {
    return weights.getOrDefault(provider, 1.0);
  }

  /**
   * @param c the route's block with {@code route-defaults} as fallback
   * @param allProviders every configured provider, in catalog order: a route that names none uses all
   */
  static RouteSettings fromConfig(String name, Config c, List<String> allProviders) {
    List<String> providers = c.getStringList("providers");
    Map<String, Double> weights = new LinkedHashMap<>();
    Config w = c.getConfig("weights");
    for (String key : w.root().keySet()) {
      weights.put(key, w.getDouble(com.typesafe.config.ConfigUtil.quoteString(key)));
    }
    return new RouteSettings(name, Policy.parse(name, c.getString("policy")),
        providers.isEmpty() ? allProviders : providers, weights, c.getInt("tier"), c.getBoolean("cache"));
  }
}
