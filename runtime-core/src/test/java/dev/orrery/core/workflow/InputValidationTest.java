package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class InputValidationTest {
  private static final CompiledWorkflow WF = CompiledWorkflow.compile(WorkflowParser.parse("""
      name: t
      inputs:
        doc: {type: string}
        sections: {type: array}
        n: {type: integer, default: 3}
        ratio: {type: number, required: false}
        flags: {type: object, required: false}
        anything: {required: false}
      nodes: [{id: a, type: llm, prompt: x}]
      """));

  private static List<String> problems(Map<String, Object> inputs) {
    return WF.validateInputs(inputs).stream().map(p -> p.path() + " " + p.code()).collect(Collectors.toList());
  }

  @Test
  void validInputsHaveNoProblems() {
    assertEquals(List.of(), problems(Map.of("doc", "text", "sections", List.of("a"))));
    assertEquals(List.of(), problems(Map.of("doc", "text", "sections", List.of(), "n", 4.0, "ratio", 1, "flags", Map.of(),
        "anything", List.of(1))));
  }

  @Test
  void missingRequiredInputsAreReported() {
    assertEquals(List.of("inputs.doc MISSING_INPUT", "inputs.sections MISSING_INPUT"), problems(Map.of()));
    var nullDoc = new java.util.HashMap<String, Object>();
    nullDoc.put("doc", null);
    nullDoc.put("sections", List.of());
    assertEquals(List.of("inputs.doc MISSING_INPUT"), problems(nullDoc), "a JSON null is no value");
  }

  @Test
  void valuesOfTheWrongJsonTypeAreReported() {
    assertEquals(List.of("inputs.doc INVALID_INPUT", "inputs.sections INVALID_INPUT", "inputs.n INVALID_INPUT",
            "inputs.ratio INVALID_INPUT", "inputs.flags INVALID_INPUT"),
        problems(Map.of("doc", 1, "sections", "a,b", "n", 2.5, "ratio", "high", "flags", List.of())));
    assertEquals("input 'n' must be of type integer, was 2.5 (number)",
        WF.validateInputs(Map.of("doc", "d", "sections", List.of(), "n", 2.5)).get(0).message());
  }

  @Test
  void undeclaredInputsAreReported() {
    List<Problem> found = WF.validateInputs(Map.of("doc", "d", "sections", List.of(), "extra", 1));
    assertEquals(1, found.size());
    assertEquals("inputs.extra", found.get(0).path());
    assertEquals("INVALID_INPUT", found.get(0).code());
  }

  @Test
  void treesFromARequestBodyAreAcceptedToo() throws Exception {
    var body = new ObjectMapper().readTree("{\"doc\": \"d\", \"sections\": [\"a\"], \"n\": 5}");
    @SuppressWarnings("unchecked")
    Map<String, Object> inputs = (Map<String, Object>) JsonValues.toPlain(body);
    assertEquals(List.of(), WF.validateInputs(inputs));
  }

  @Test
  void defaultsFillInWhatIsNotGiven() {
    Map<String, Object> full = WF.withDefaults(Map.of("doc", "d", "sections", List.of("a")));
    assertEquals(List.of("doc", "sections", "n", "ratio", "flags", "anything"), List.copyOf(full.keySet()));
    assertEquals(3L, full.get("n"));
    assertEquals(null, full.get("ratio"));
    assertEquals(9L, WF.withDefaults(Map.of("n", 9)).get("n"));
  }
}
