package dev.orrery.router.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ProviderCatalogTest {
  private static Config config(String llm) {
    return ConfigFactory.parseString("orrery.llm {" + llm + "}").withFallback(ConfigFactory.load()).resolve();
  }

  private static List<String> names(ProviderCatalog catalog) {
    return catalog.providers().stream().map(ProviderSettings::name).toList();
  }

  @Test
  void withNoFileAndNoEnvironmentTheSimulatedProviderIsTheOnlyOne() {
    ProviderCatalog catalog = ProviderCatalog.fromConfig(ConfigFactory.load(), Map.of());
    assertEquals(List.of("simulated"), names(catalog));
    ProviderSettings sim = catalog.providers().get(0);
    assertEquals(ProviderSettings.Kind.SIMULATED, sim.kind());
    assertEquals("sim-small", sim.models().get(0).name());
    assertEquals(0.15, sim.models().get(0).inputUsdPerMillion());
    assertEquals(1024, sim.limits().concurrency());
    RouteSettings route = catalog.routes().get("default");
    assertEquals(RouteSettings.Policy.FALLBACK, route.policy());
    assertEquals(List.of("simulated"), route.providers());
    assertTrue(catalog.source().contains("simulated"), catalog.source());
  }

  @Test
  void theProvidersUsualVariablesConfigureThemInOrder() {
    ProviderCatalog catalog = ProviderCatalog.fromConfig(ConfigFactory.load(), Map.of(
        "OLLAMA_URL", "http://localhost:11434/",
        "ANTHROPIC_API_KEY", "sk-ant-secret",
        "OPENAI_API_KEY", "sk-secret",
        "OPENAI_BASE_URL", "http://vllm.local:8000/v1"));
    assertEquals(List.of("openai", "anthropic", "ollama"), names(catalog));
    ProviderSettings openai = catalog.provider("openai");
    assertEquals("http://vllm.local:8000/v1", openai.baseUrl());
    assertEquals("sk-secret", openai.apiKey());
    assertEquals(ProviderSettings.Kind.OPENAI, openai.kind());
    assertFalse(openai.toString().contains("sk-secret"), "the key is never printed");
    ProviderSettings anthropic = catalog.provider("anthropic");
    assertEquals("https://api.anthropic.com", anthropic.baseUrl());
    assertEquals(ProviderSettings.Kind.ANTHROPIC, anthropic.kind());
    ProviderSettings ollama = catalog.provider("ollama");
    assertEquals("http://localhost:11434/v1", ollama.baseUrl());
    assertEquals(ProviderSettings.Kind.OPENAI, ollama.kind());
    assertNull(ollama.apiKey());
    assertEquals(List.of("openai", "anthropic", "ollama"), catalog.routes().get("default").providers());
    assertEquals(RouteSettings.Policy.FALLBACK, catalog.routes().get("default").policy());
  }

  @Test
  void ollamaModelReplacesTheDefaultModel() {
    ProviderCatalog catalog = ProviderCatalog.fromConfig(ConfigFactory.load(),
        Map.of("OLLAMA_URL", "http://gpu:11434", "OLLAMA_MODEL", "qwen2.5:7b"));
    assertEquals("qwen2.5:7b", catalog.provider("ollama").models().get(0).name());
  }

  @Test
  void aProviderListReplacesTheEnvironmentAndInheritsDefaults() {
    ProviderCatalog catalog = ProviderCatalog.fromConfig(config(
        "providers = [{name = local, kind = openai, base-url = \"http://127.0.0.1:9/v1\", models = [{name = m}],"
            + " concurrency = 4, breaker.wait-in-open = 2s},"
            + "{name = demo, kind = simulated, simulated.latency-ms = 25}]\n"
            + "routes { default { policy = weighted, weights { local = 2 } }, quick { providers = [demo], tier = 1 } }"),
        Map.of("OPENAI_API_KEY", "ignored"));
    assertEquals(List.of("local", "demo"), names(catalog));
    ProviderSettings local = catalog.provider("local");
    assertEquals(4, local.limits().concurrency());
    assertEquals(1024, local.limits().queueSize(), "from provider-defaults");
    assertEquals(Duration.ofSeconds(2), local.limits().breaker().waitInOpen());
    assertEquals(10, local.limits().breaker().minimumCalls(), "the rest of the breaker block from the defaults");
    assertEquals(Duration.ofMillis(25), catalog.provider("demo").simulated().latency());
    assertEquals(2.0, catalog.routes().get("default").weight("local"));
    assertEquals(1.0, catalog.routes().get("default").weight("demo"));
    assertEquals(List.of("default", "quick"), List.copyOf(catalog.routes().keySet()));
  }

  @Test
  void badSettingsAreRefusedNamingTheValue() {
    var e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "providers = [{name = p, kind = openai, base-url = \"http://p/v1\", models = [{name = m}], concurrency = 0}]"),
        Map.of()));
    assertEquals("concurrency must be > 0, was 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "providers = [{name = p, kind = openai, base-url = \"http://p/v1\", api-key-env = P_KEY, models = [{name = m}]}]"),
        Map.of()));
    assertTrue(e.getMessage().contains("P_KEY"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "providers = [{name = p, kind = grpc, base-url = \"http://p\", models = [{name = m}]}]"), Map.of()));
    assertTrue(e.getMessage().contains("'grpc'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "routes.fast { providers = [openai] }"), Map.of()));
    assertTrue(e.getMessage().contains("route fast names provider openai"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "routes.default.policy = random"), Map.of()));
    assertTrue(e.getMessage().contains("'random'"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> ProviderCatalog.fromConfig(config(
        "providers = [{name = p, kind = openai, base-url = \"http://p\", models = [{name = m, tier = 4}]}]"), Map.of()));
    assertTrue(e.getMessage().contains("tier of model m must be 1..3, was 4"), e.getMessage());
  }
}
