package dev.orrery.router.route;

import com.typesafe.config.Config;
import dev.orrery.router.actor.ProviderLimits;
import dev.orrery.router.sim.SimulatedProviderSettings;
import java.net.URI;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;

/**
 * One provider endpoint, read once from an entry of {@code orrery.llm.providers} (merged over
 * {@code orrery.llm.provider-defaults}) or derived from the providers' environment variables.
 *
 * @param baseUrl the endpoint's base URL (null for the simulated provider)
 * @param apiKeyEnv the name of the environment variable holding the key, or null when the endpoint
 *     needs none (a local server)
 * @param apiKey the key itself, read from that variable when the catalog was built; never printed
 * @param models the models it serves, the first being its default
 * @param simulated the simulated provider's behaviour (latency, failure rate, seed) when kind is
 *     SIMULATED, else null
 */
public record ProviderSettings(
    String name,
    Kind kind,
    String baseUrl,
    String apiKeyEnv,
    String apiKey,
    List<ModelSettings> models,
    ProviderLimits limits,
    SimulatedProviderSettings simulated) {

  /** The wire protocol an endpoint speaks. OPENAI also covers Ollama, vLLM and llama.cpp servers. */
  public enum Kind {
    OPENAI, ANTHROPIC, SIMULATED;

    static Kind parse(String provider, String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "provider " + provider + ": kind must be openai, anthropic or simulated, was '" + value + "'");
      }
    }
  }

  public ProviderSettings {
    if (name == null || name.isBlank() || !name.matches("[A-Za-z0-9_.-]+")) {
      throw new IllegalArgumentException("a provider name must be letters, digits, '_', '.' or '-', was '" + name + "'");
    }
    if (kind == null) throw new IllegalArgumentException("provider " + name + " needs a kind");
    if (kind != Kind.SIMULATED) {
      if (baseUrl == null || baseUrl.isBlank()) throw new IllegalArgumentException("provider " + name + " needs a base-url");
      URI uri;
      try {
        uri = URI.create(baseUrl);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("provider " + name + ": base-url is not a URL, was '" + baseUrl + "'");
      }
      if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
        throw new IllegalArgumentException("provider " + name + ": base-url must be http(s), was '" + baseUrl + "'");
      }
    } else if (simulated == null) {
      throw new IllegalArgumentException("simulated provider " + name + " needs its simulated settings");
    }
    if (models == null || models.isEmpty()) throw new IllegalArgumentException("provider " + name + " lists no models");
    models = List.copyOf(models);
    var seen = new HashSet<String>();
    for (ModelSettings m : models) {
      if (!seen.add(m.name())) throw new IllegalArgumentException("provider " + name + " lists model " + m.name() + " twice");
    }
    if (limits == null) throw new IllegalArgumentException("provider " + name + " needs limits");
  }

  /**
   * Reads an entry.
   *
   * @param entry the entry with {@code orrery.llm.provider-defaults} as fallback
   * @param simulatedDefaults {@code orrery.llm.simulated}, under an entry's own {@code simulated} block
   */
  static ProviderSettings fromConfig(Config entry, Config simulatedDefaults, java.util.Map<String, String> env) {
    String name = entry.getString("name");
    Kind kind = Kind.parse(name, entry.getString("kind"));
    String keyEnv = entry.hasPath("api-key-env") && !entry.getString("api-key-env").isBlank()
        ? entry.getString("api-key-env") : null;
    String key = null;
    if (keyEnv != null) {
      key = env.get(keyEnv);
      if (key == null || key.isBlank()) {
        throw new IllegalArgumentException(
            "provider " + name + ": environment variable " + keyEnv + " (api-key-env) is not set");
      }
    }
    SimulatedProviderSettings sim = null;
    List<ModelSettings> models;
    if (kind == Kind.SIMULATED) {
      Config simBlock = entry.hasPath("simulated")
          ? entry.getConfig("simulated").withFallback(simulatedDefaults) : simulatedDefaults;
      sim = SimulatedProviderSettings.of(simBlock);
      models = entry.hasPath("models") && !entry.getConfigList("models").isEmpty()
          ? models(entry)
          : List.of(new ModelSettings(sim.model(), sim.inputUsdPerMillion(), sim.outputUsdPerMillion(), 1));
    } else {
      models = models(entry);
    }
    String baseUrl = entry.hasPath("base-url") ? entry.getString("base-url") : null;
    return new ProviderSettings(name, kind, baseUrl, keyEnv, key, models, ProviderLimits.fromConfig(entry), sim);
  }

  private static List<ModelSettings> models(Config entry) {
    Config modelDefaults = com.typesafe.config.ConfigFactory.parseString(
        "tier = 1, input-usd-per-million = 0, output-usd-per-million = 0");
    return entry.getConfigList("models").stream()
        .map(m -> ModelSettings.fromConfig(m.withFallback(modelDefaults)))
        .toList();
  }

  /**
   * The model of this endpoint called {@code model}, or null. A simulated endpoint answers any model,
   * priced as its first (so a workflow that pins a real model still runs in a demo without providers).
   */
  public ModelSettings serving(String model) {
    for (ModelSettings m : models) {
      if (m.name().equals(model)) return m;
    }
    return kind == Kind.SIMULATED ? models.get(0).named(model) : null;
  }

  /** The same endpoint offering only {@code subset} of its models (a pinned route's). */
  ProviderSettings withModels(List<ModelSettings> subset) {
    return new ProviderSettings(name, kind, baseUrl, apiKeyEnv, apiKey, subset, limits, simulated);
  }

  /** Never prints the key. */
  @Override
  public String toString() {
    return "ProviderSettings[name=" + name + ", kind=" + kind + ", baseUrl=" + baseUrl + ", apiKeyEnv=" + apiKeyEnv
        + ", apiKey=" + (apiKey == null ? "none" : "***") + ", models=" + models + ", limits=" + limits + "]";
  }
}
