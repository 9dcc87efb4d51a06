package dev.orrery.router.route;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigUtil;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The provider endpoints and routes a node serves, decided once at start. The one place that knows
 * where they come from:
 *
 * <ol>
 *   <li>{@code orrery.llm.providers}, when the configuration lists any;
 *   <li>otherwise the providers' usual environment variables, in this order: {@code OPENAI_API_KEY}
 *       (with {@code OPENAI_BASE_URL}), {@code ANTHROPIC_API_KEY} (with {@code ANTHROPIC_BASE_URL}),
 *       {@code OLLAMA_URL} (an OpenAI-compatible endpoint at {@code {OLLAMA_URL}/v1}, model from
 *       {@code OLLAMA_MODEL} or the default), each completed from {@code orrery.llm.env-defaults};
 *   <li>with none of those, the simulated provider alone.
 * </ol>
 *
 * Routes come from {@code orrery.llm.routes}; a route that names no providers uses all of them in the
 * order above, which is what the {@code default} route does unless configured otherwise.
 *
 * @param source how the providers were found, for the start-up log
 */
public record ProviderCatalog(List<ProviderSettings> providers, Map<String, RouteSettings> routes, String source) {
  public static final String DEFAULT_ROUTE = "default";

  public ProviderCatalog {
    providers = List.copyOf(providers);
    if (providers.isEmpty()) throw new IllegalArgumentException("no provider configured");
    var names = new ArrayList<String>();
    for (ProviderSettings p : providers) {
      if (names.contains(p.name())) throw new IllegalArgumentException("provider " + p.name() + " is configured twice");
      names.add(p.name());
    }
    // Kept in configuration order: the gateway lists routes as they were written.
    routes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(routes));
    for (RouteSettings r : routes.values()) {
      for (String p : r.providers()) {
        if (!names.contains(p)) {
          throw new IllegalArgumentException("route " + r.name() + " names provider " + p + ", which is not configured "
              + "(providers: " + String.join(", ", names) + ")");
        }
      }
    }
    if (!routes.containsKey(DEFAULT_ROUTE)) throw new IllegalArgumentException("no route named " + DEFAULT_ROUTE);
  }

  public static ProviderCatalog fromConfig(Config config, Map<String, String> env) {
    Config llm = config.getConfig("orrery.llm");
    Config defaults = llm.getConfig("provider-defaults");
    Config simulated = llm.getConfig("simulated");
    List<ProviderSettings> providers = new ArrayList<>();
    String source;
    List<? extends Config> entries = llm.getConfigList("providers");
    if (!entries.isEmpty()) {
      for (Config entry : entries) {
        providers.add(ProviderSettings.fromConfig(entry.withFallback(defaults), simulated, env));
      }
      source = "configuration (orrery.llm.providers)";
    } else {
      Config envDefaults = llm.getConfig("env-defaults");
      String openAiKey = env.get("OPENAI_API_KEY");
      if (present(openAiKey)) {
        providers.add(fromEnv(envDefaults, "openai", defaults, simulated, env,
            entry("openai", "base-url", env.get("OPENAI_BASE_URL"))));
      }
      if (present(env.get("ANTHROPIC_API_KEY"))) {
        providers.add(fromEnv(envDefaults, "anthropic", defaults, simulated, env,
            entry("anthropic", "base-url", env.get("ANTHROPIC_BASE_URL"))));
      }
      String ollama = env.get("OLLAMA_URL");
      if (present(ollama)) {
        Map<String, Object> overrides = entry("ollama", "base-url", stripSlash(ollama) + "/v1");
        String model = env.get("OLLAMA_MODEL");
        if (present(model)) overrides.put("models", List.of(Map.of("name", model)));
        providers.add(fromEnv(envDefaults, "ollama", defaults, simulated, env, overrides));
      }
      if (providers.isEmpty()) {
        providers.add(fromEnv(envDefaults, "simulated", defaults, simulated, env, entry("simulated", null, null)));
        source = "no provider configured: the simulated provider";
      } else {
        source = "environment variables";
      }
    }
    List<String> names = providers.stream().map(ProviderSettings::name).toList();
    Map<String, RouteSettings> routes = new LinkedHashMap<>();
    Config routeBlocks = llm.getConfig("routes");
    Config routeDefaults = llm.getConfig("route-defaults");
    for (String name : routeBlocks.root().keySet()) {
      Config block = routeBlocks.getConfig(ConfigUtil.quoteString(name)).withFallback(routeDefaults);
      routes.put(name, RouteSettings.fromConfig(name, block, names));
    }
    return new ProviderCatalog(providers, routes, source + ": " + String.join(", ", names));
  }

  public ProviderSettings provider(String name) {
    for (ProviderSettings p : providers) {
      if (p.name().equals(name)) return p;
    }
    return null;
  }

  private static ProviderSettings fromEnv(Config envDefaults, String name, Config defaults, Config simulated,
      Map<String, String> env, Map<String, Object> overrides) {
    Config entry = ConfigFactory.parseMap(overrides)
        .withFallback(envDefaults.getConfig(name))
        .withFallback(defaults);
    return ProviderSettings.fromConfig(entry, simulated, env);
  }

  /** The name, and one optional key when its value is present (an unset variable keeps the default). */
  private static Map<String, Object> entry(String name, String key, String value) {
    Map<String, Object> m = new HashMap<>();
    m.put("name", name);
    if (key != null && present(value)) m.put(key, value);
    return m;
  }

  private static boolean present(String value) {
    return value != null && !value.isBlank();
  }

  private static String stripSlash(String url) {
    String u = url.strip();
    while (u.endsWith("/")) u = u.substring(0, u.length() - 1);
    return u;
  }
}
