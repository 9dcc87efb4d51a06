package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.module.paramnames.ParameterNamesModule;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkflowParserTest {
  private static final String YAML = """
      name: demo
      version: 2
      description: two nodes
      inputs:
        topic: {type: string}
        count: {type: integer, default: 3}
      policy:
        max_parallel: 4
        token_budget: 1000
        retry: {max_attempts: 5}
      nodes:
        - id: draft
          type: llm
          model: gpt-4o-mini
          max_tokens: 200
          temperature: 0.2
          prompt: "Write about {{inputs.topic}}"
          output_schema: {type: object, properties: {text: {type: string}}}
        - id: parts
          type: map
          depends_on: [draft]
          over: inputs.topics
          max_parallel: 2
          node: {type: llm, prompt: "Expand {{item}}", timeout_ms: 5000}
      """;

  private static final String JSON = """
      {"name": "demo", "version": 2, "description": "two nodes",
       "inputs": {"topic": {"type": "string"}, "count": {"type": "integer", "default": 3}},
       "policy": {"max_parallel": 4, "token_budget": 1000, "retry": {"max_attempts": 5}},
       "nodes": [
         {"id": "draft", "type": "llm", "model": "gpt-4o-mini", "max_tokens": 200, "temperature": 0.2,
          "prompt": "Write about {{inputs.topic}}",
          "output_schema": {"type": "object", "properties": {"text": {"type": "string"}}}},
         {"id": "parts", "type": "map", "depends_on": ["draft"], "over": "inputs.topics", "max_parallel": 2,
          "node": {"type": "llm", "prompt": "Expand {{item}}", "timeout_ms": 5000}}]}
      """;

  @Test
  void yamlAndJsonParseToTheSameSpec() {
    WorkflowSpec fromYaml = WorkflowParser.parse(YAML);
    WorkflowSpec fromJson = WorkflowParser.parse(JSON);
    assertEquals(fromYaml, fromJson);
    assertEquals(List.of("topic", "count"), List.copyOf(fromYaml.inputs().keySet()));
    assertEquals(3L, fromYaml.inputs().get("count").defaultValue());
    assertEquals(false, fromYaml.inputs().get("count").required());
    assertEquals(true, fromYaml.inputs().get("topic").required());
    assertEquals(5, fromYaml.policy().retry().maxAttempts());
    assertEquals(200, fromYaml.policy().retry().backoffMs());
    assertEquals(5000L, fromYaml.node("parts").orElseThrow().node().timeoutMs());
  }

  @Test
  void missingFieldsTakeTheirDefaults() {
    WorkflowSpec spec = WorkflowParser.parse("name: tiny\nnodes: [{id: a, type: llm, prompt: hi}]");
    assertEquals(1, spec.version());
    assertEquals(Policy.defaults(), spec.policy());
    assertEquals(8, spec.policy().maxParallel());
    assertNull(spec.policy().tokenBudget());
    assertEquals("fail", spec.policy().onBudgetExhausted());
    assertEquals(600_000, spec.policy().timeoutMs());
    assertEquals(120_000, spec.policy().stepTimeoutMs());
    assertEquals(new RetryPolicy(3, 200, 10_000, 2.0), spec.policy().retry());
    assertEquals(List.of(), spec.nodes().get(0).dependsOn());
    assertEquals("any", WorkflowParser.parse("name: t\ninputs: {x: }\nnodes: []").inputs().get("x").type());
  }

  @Test
  void anExplicitZeroIsKeptSoValidationCanRejectIt() {
    WorkflowSpec spec = WorkflowParser.parse("name: t\npolicy: {max_parallel: 0}\nnodes: [{id: a, type: llm, prompt: hi}]");
    assertEquals(0, spec.policy().maxParallel());
  }

  @Test
  void aSingleDependencyNeedsNoList() {
    WorkflowSpec spec = WorkflowParser.parse("name: t\nnodes: [{id: a, type: llm, prompt: hi, depends_on: b}]");
    assertEquals(List.of("b"), spec.nodes().get(0).dependsOn());
  }

  @Test
  void specRoundTripsThroughAPlainObjectMapper() throws Exception {
    var mapper = new ObjectMapper();
    WorkflowSpec spec = WorkflowParser.parse(YAML);
    String json = mapper.writeValueAsString(spec);
    assertTrue(json.contains("\"depends_on\":[\"draft\"]"), json);
    assertTrue(json.contains("\"max_parallel\":4"), json);
    assertTrue(json.contains("\"default\":3"), json);
    assertEquals(spec, mapper.readValue(json, WorkflowSpec.class));

    WorkflowSpec bare = WorkflowParser.parse("name: tiny\nnodes: [{id: a, type: llm, prompt: hi}]");
    assertEquals(bare, mapper.readValue(mapper.writeValueAsString(bare), WorkflowSpec.class));
  }

  @Test
  void specRoundTripsThroughAMapperConfiguredLikePekkos() throws Exception {
    // Pekko's serializer registers these modules and tolerates unknown properties; names must not change.
    var mapper = new ObjectMapper()
        .registerModule(new ParameterNamesModule())
        .registerModule(new Jdk8Module())
        .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    WorkflowSpec spec = WorkflowParser.parse(YAML);
    assertEquals(spec, mapper.readValue(mapper.writeValueAsString(spec), WorkflowSpec.class));
    assertEquals(mapper.writeValueAsString(spec), new ObjectMapper().writeValueAsString(spec));
    var result = NodeResult.succeeded(Map.of("label", "positive"));
    assertEquals(result, mapper.readValue(mapper.writeValueAsString(result), NodeResult.class));
    var problem = new Problem("nodes[a].when", "CYCLE", "a -> a");
    assertEquals(problem, mapper.readValue(mapper.writeValueAsString(problem), Problem.class));
  }

  @Test
  void malformedYamlIsAParseErrorWithLineAndColumn() {
    var e = assertThrows(WorkflowException.class,
        () -> WorkflowParser.parse("name: x\nnodes:\n  - id: a\n    prompt: [unclosed\n"));
    assertEquals(1, e.problems().size());
    Problem p = e.problems().get(0);
    assertEquals("PARSE_ERROR", p.code());
    assertTrue(p.message().matches(".*\\(line \\d+, column \\d+\\)"), p.message());
  }

  @Test
  void malformedJsonIsAParseErrorWithLineAndColumn() {
    var e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse("{\"name\": \"x\",\n \"nodes\": [}"));
    Problem p = e.problems().get(0);
    assertEquals("PARSE_ERROR", p.code());
    assertTrue(p.message().contains("line 2"), p.message());
  }

  @Test
  void anUnknownPropertyIsNamedWithItsLocation() {
    var e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse("""
        name: x
        nodes:
          - id: a
            type: llm
            prompt: hi
          - id: b
            type: map
            over: inputs.xs
            node: {type: llm, prompt: "{{item}}", promt: typo}
        """));
    Problem p = e.problems().get(0);
    assertEquals("PARSE_ERROR", p.code());
    assertEquals("nodes[1].node.promt", p.path());
    assertTrue(p.message().startsWith("unknown property 'promt' in nodes[1].node"), p.message());
    assertTrue(p.message().contains("prompt"), p.message());
    assertTrue(p.message().contains("line 9"), p.message());
  }

  @Test
  void anUnknownTopLevelPropertyIsAParseErrorInJsonAndTrees() throws Exception {
    var e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse("{\"name\": \"x\", \"nodez\": []}"));
    assertEquals("nodez", e.problems().get(0).path());
    var tree = new ObjectMapper().readTree("{\"name\": \"x\", \"policy\": {\"retries\": 3}}");
    var e2 = assertThrows(WorkflowException.class, () -> WorkflowParser.fromTree(tree));
    assertEquals("policy.retries", e2.problems().get(0).path());
  }

  @Test
  void aWrongValueTypeIsAParseErrorAtItsPath() {
    var e = assertThrows(WorkflowException.class,
        () -> WorkflowParser.parse("name: x\nnodes: [{id: a, type: llm, prompt: hi, max_tokens: lots}]"));
    assertEquals("PARSE_ERROR", e.problems().get(0).code());
    assertEquals("nodes[0].max_tokens", e.problems().get(0).path());
  }

  @Test
  void emptyAndNonObjectDocumentsAreParseErrors() {
    for (String text : List.of("", "   \n", "# just a comment\n", "- a\n- b\n", "42", "[1, 2]")) {
      var e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse(text), text);
      assertEquals("PARSE_ERROR", e.problems().get(0).code(), text);
    }
  }

  @Test
  void aDuplicateKeyIsAParseError() {
    var e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse("name: a\nname: b\nnodes: []"));
    assertTrue(e.problems().get(0).message().contains("name"), e.getMessage());
  }

  @Test
  void fromTreeBindsASpecEmbeddedInARequest() throws Exception {
    var body = new ObjectMapper().readTree("{\"workflow\": " + JSON + ", \"inputs\": {}}");
    assertEquals(WorkflowParser.parse(YAML), WorkflowParser.fromTree(body.get("workflow")));
  }

  @Test
  void aMissingResourceIsReported() {
    var e = assertThrows(WorkflowException.class, () -> WorkflowParser.fromResource("workflows/nope.yaml"));
    assertTrue(e.getMessage().contains("nope.yaml"));
  }
}
