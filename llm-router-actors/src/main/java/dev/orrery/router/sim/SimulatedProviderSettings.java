package dev.orrery.router.sim;

import com.typesafe.config.Config;
import java.time.Duration;

/** Settings of the simulated provider, read once from {@code orrery.llm.simulated}. */
public record SimulatedProviderSettings(
    Duration latency,
    double failureRate,
    long seed,
    String model,
    double inputUsdPerMillion,
    double outputUsdPerMillion) {

  public SimulatedProviderSettings {
    if (latency.isNegative()) throw new IllegalArgumentException("latency-ms must be >= 0, was " + latency.toMillis());
    if (failureRate < 0.0 || failureRate > 1.0) {
      throw new IllegalArgumentException("failure-rate must be within 0.0 .. 1.0, was " + failureRate);
    }
    if (model == null || model.isBlank()) throw new IllegalArgumentException("model must not be blank");
    if (inputUsdPerMillion < 0 || outputUsdPerMillion < 0) {
      throw new IllegalArgumentException(
          "prices must be >= 0, were " + inputUsdPerMillion + " and " + outputUsdPerMillion);
    }
  }

  public static SimulatedProviderSettings fromConfig(Config config) {
    return of(config.getConfig("orrery.llm.simulated"));
  }

  /** Reads a block shaped like {@code orrery.llm.simulated} (a provider entry's overrides merged over it). */
  public static SimulatedProviderSettings of(Config c) {
    return new SimulatedProviderSettings(
        Duration.ofMillis(c.getLong("latency-ms")),
        c.getDouble("failure-rate"),
        c.getLong("seed"),
        c.getString("model"),
        c.getDouble("input-usd-per-million"),
        c.getDouble("output-usd-per-million"));
  }

  public SimulatedProviderSettings withLatency(Duration value) {
    return new SimulatedProviderSettings(value, failureRate, seed, model, inputUsdPerMillion, outputUsdPerMillion);
  }

  public SimulatedProviderSettings withFailureRate(double value) {
    return new SimulatedProviderSettings(latency, value, seed, model, inputUsdPerMillion, outputUsdPerMillion);
  }
}
