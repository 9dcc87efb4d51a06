package dev.orrery.agent.definition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class AgentDefinitionTest {

  @Test
  void aYamlDefinitionReadsWithItsDefaults() {
    AgentDefinition d = AgentDefinition.read("""
        name: helper
        system_prompt: You help.
        tools: [calculator, python]
        """, "helper.yaml");

    assertEquals("helper", d.name());
    assertEquals("general", d.category());
    assertEquals(List.of("calculator", "python"), d.tools());
    assertEquals(AgentDefinition.DEFAULT_MAX_ITERATIONS, d.maxIterations());
    assertEquals(AgentDefinition.DEFAULT_MAX_TOKENS, d.maxTokens());
    assertEquals("default", d.effectiveRoute());
    assertNull(d.temperature());
  }

  @Test
  void aJsonDefinitionReadsToo() {
    AgentDefinition d = AgentDefinition.read("""
        {"name": "triage", "category": "support", "system_prompt": "Triage.", "model": "gpt-4o-mini",
         "temperature": 0.3, "max_iterations": 3,
         "output_schema": {"type": "object", "properties": {"label": {"type": "string"}}, "required": ["label"]}}
        """, "request body");

    assertEquals("gpt-4o-mini", d.model());
    assertNull(d.effectiveRoute(), "a pinned model has no route");
    assertEquals(0.3, d.temperature());
    assertEquals(3, d.maxIterations());
    assertEquals("object", d.outputSchema().path("type").asText());
  }

  @Test
  void anUnknownFieldIsNamed() {
    var e = assertThrows(AgentDefinitionException.class, () -> AgentDefinition.read("""
        name: x
        system_prompt: p
        sytem_prompt: typo
        """, "x.yaml"));
    assertTrue(e.getMessage().contains("unknown field 'sytem_prompt'"), e.getMessage());
    assertTrue(e.getMessage().startsWith("x.yaml (agent 'x') is invalid"), e.getMessage());
  }

  @Test
  void everyProblemIsReportedAtOnceEachNamingItsField() {
    var e = assertThrows(AgentDefinitionException.class, () -> AgentDefinition.read("""
        category: 3
        max_iterations: 0
        temperature: 5
        route: fast
        model: m
        tools: [ok, "bad tool", ok]
        """, "bad.yaml"));
    List<String> p = e.problems();
    assertTrue(p.contains("'name' is required"), p.toString());
    assertTrue(p.contains("'system_prompt' is required"), p.toString());
    assertTrue(p.stream().anyMatch(s -> s.startsWith("'category' must be a string")), p.toString());
    assertTrue(p.stream().anyMatch(s -> s.startsWith("'max_iterations' must be an integer from 1 to 50")), p.toString());
    assertTrue(p.stream().anyMatch(s -> s.startsWith("'temperature' must be a number from 0 to 2")), p.toString());
    assertTrue(p.contains("'route' and 'model' are exclusive: name one or the other"), p.toString());
    assertTrue(p.stream().anyMatch(s -> s.startsWith("'tools[1]' must be a tool name")), p.toString());
    assertTrue(p.contains("'tools[2]' repeats 'ok'"), p.toString());
  }

  @Test
  void aSchemaThatIsNotAJsonSchemaIsRefused() {
    var e = assertThrows(AgentDefinitionException.class, () -> AgentDefinition.read("""
        name: x
        system_prompt: p
        output_schema: {type: strng}
        input_schema: [1, 2]
        """, "x.yaml"));
    assertTrue(e.problems().stream().anyMatch(s -> s.startsWith("'output_schema' is not a valid output schema")),
        e.problems().toString());
    assertTrue(e.problems().contains("'input_schema' must be a JSON Schema object, was array"),
        e.problems().toString());
  }

  @Test
  void aBadNameAndBrokenYamlAreExplained() {
    var name = assertThrows(AgentDefinitionException.class,
        () -> AgentDefinition.read("name: Bad Name\nsystem_prompt: p\n", null));
    assertTrue(name.getMessage().contains("'name' must be lower-case letters"), name.getMessage());
    var yaml = assertThrows(AgentDefinitionException.class, () -> AgentDefinition.read("name: [unclosed", "y.yaml"));
    assertTrue(yaml.getMessage().contains("not valid YAML or JSON"), yaml.getMessage());
    var notObject = assertThrows(AgentDefinitionException.class, () -> AgentDefinition.read("- a\n- b\n", "z.yaml"));
    assertTrue(notObject.getMessage().contains("must be an object"), notObject.getMessage());
  }
}
