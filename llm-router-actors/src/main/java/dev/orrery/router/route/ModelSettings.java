package dev.orrery.router.route;

import com.typesafe.config.Config;

/**
 * A model an endpoint serves, with its list prices and a quality tier.
 *
 * @param tier 1 (basic) to 3 (best); a route's tier asks for at least this
 */
public record ModelSettings(String name, double inputUsdPerMillion, double outputUsdPerMillion, int tier) {
  public ModelSettings {
    if (name == null || name.isBlank()) throw new IllegalArgumentException("a model needs a name");
    if (inputUsdPerMillion < 0 || outputUsdPerMillion < 0) {
      throw new IllegalArgumentException("prices of model " + name + " must be >= 0, were " + inputUsdPerMillion
          + " and " + outputUsdPerMillion);
    }
    if (tier < 1 || tier > 3) throw new IllegalArgumentException("tier of model " + name + " must be 1..3, was " + tier);
  }

  static ModelSettings fromConfig(Config c) {
    return new ModelSettings(c.getString("name"), c.getDouble("input-usd-per-million"),
        c.getDouble("output-usd-per-million"), c.getInt("tier"));
  }

  /** Micro-dollars: tokens × USD per million tokens is exactly that, rounded to a whole micro-dollar. */
  public long costMicros(long tokensIn, long tokensOut) {
    return Math.round(tokensIn * inputUsdPerMillion + tokensOut * outputUsdPerMillion);
  }

  /** The same prices and tier under another name (a simulated endpoint answering any model). */
  ModelSettings named(String other) {
    return new ModelSettings(other, inputUsdPerMillion, outputUsdPerMillion, tier);
  }
}
