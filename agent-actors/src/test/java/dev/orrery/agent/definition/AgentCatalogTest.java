package dev.orrery.agent.definition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentCatalogTest {
  private static final Set<String> SANDBOX_TOOLS = Set.of("calculator", "python", "shell", "http_fetch");

  @Test
  void theBundledExamplesLoadAndSpanSeveralCategories() {
    AgentCatalog catalog = AgentCatalog.load(Optional.empty());

    assertTrue(catalog.all().size() >= 10, "at least ten examples, was " + catalog.all().size());
    Set<String> categories = catalog.all().stream().map(v -> v.definition().category()).collect(Collectors.toSet());
    assertTrue(categories.containsAll(Set.of("research", "marketing", "data-analysis", "support", "code-review")),
        categories.toString());
    for (AgentVersion v : catalog.all()) {
      assertEquals(1, v.version());
      assertTrue(v.bundled());
      assertTrue(SANDBOX_TOOLS.containsAll(v.definition().tools()), v.name() + " names a tool the sandbox lacks");
      assertTrue(!v.definition().description().isBlank(), v.name() + " has a description");
    }
    assertTrue(catalog.all().stream().anyMatch(v -> !v.definition().tools().isEmpty()), "some examples use tools");
  }

  @Test
  void aDirectoryAddsDefinitionsAndReplacesBundledOnesOfTheSameName(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("mine.yaml"), "name: mine\nsystem_prompt: p\ncategory: custom\n");
    Files.writeString(dir.resolve("triage.json"),
        "{\"name\": \"support_triage\", \"system_prompt\": \"Local triage.\", \"category\": \"support\"}");
    Files.writeString(dir.resolve("notes.txt"), "not a definition");

    AgentCatalog catalog = AgentCatalog.load(Optional.of(dir));

    assertEquals("custom", catalog.get("mine").orElseThrow().definition().category());
    assertEquals("Local triage.", catalog.get("support_triage").orElseThrow().definition().systemPrompt());
    assertTrue(catalog.get("code_reviewer").isPresent(), "the other bundled examples stay");
  }

  @Test
  void aBadFileFailsTheLoadNamingTheFile(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("broken.yaml"), "name: broken\n");
    var e = assertThrows(AgentDefinitionException.class, () -> AgentCatalog.load(Optional.of(dir)));
    assertTrue(e.getMessage().startsWith("broken.yaml (agent 'broken') is invalid: 'system_prompt' is required"),
        e.getMessage());
  }

  @Test
  void twoFilesOfOneNameAreRefused(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("a.yaml"), "name: same\nsystem_prompt: p\n");
    Files.writeString(dir.resolve("b.yaml"), "name: same\nsystem_prompt: q\n");
    var e = assertThrows(AgentDefinitionException.class, () -> AgentCatalog.load(Optional.of(dir)));
    assertTrue(e.getMessage().contains("already defined by a.yaml"), e.getMessage());
  }
}
