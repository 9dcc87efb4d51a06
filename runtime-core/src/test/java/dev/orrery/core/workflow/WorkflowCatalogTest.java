package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class WorkflowCatalogTest {
  private final WorkflowCatalog catalog = new WorkflowCatalog();

  @Test
  void everyBundledExampleCompiles() {
    assertEquals(List.of("hello", "document_analysis", "support_triage"),
        catalog.all().stream().map(WorkflowSpec::name).collect(Collectors.toList()));
    for (WorkflowSpec spec : catalog.all()) CompiledWorkflow.compile(spec);
    assertTrue(catalog.find("nope").isEmpty());
  }

  @Test
  void documentAnalysisHasTheShapeOfTheDesign() {
    CompiledWorkflow wf = CompiledWorkflow.compile(catalog.find("document_analysis").orElseThrow());
    assertEquals(Set.of("summarize", "sentiment", "per_section"), wf.dependencies("report"));
    assertEquals(Set.of("report"), wf.sinks());
    assertEquals("map", wf.kind("per_section"));
    assertEquals(4, wf.maxParallel("per_section"));
    assertEquals(List.of(), wf.validateOutput("sentiment", Map.of("label", "neutral")));
    assertEquals(1, wf.validateOutput("sentiment", Map.of("label", "mixed")).size());
  }

  @Test
  void supportTriageIsADiamond() {
    CompiledWorkflow wf = CompiledWorkflow.compile(catalog.find("support_triage").orElseThrow());
    assertEquals(Set.of("classify"), wf.dependencies("draft_reply"));
    assertEquals(Set.of("classify"), wf.dependencies("escalation"));
    assertEquals(Set.of("draft_reply", "escalation"), wf.dependencies("handoff"));
    assertEquals(Set.of("handoff"), wf.sinks());
  }

  @Test
  void helloGreetsByName() {
    CompiledWorkflow wf = CompiledWorkflow.compile(catalog.find("hello").orElseThrow());
    Map<String, Object> inputs = wf.withDefaults(Map.of("name", "Ada"));
    assertEquals(List.of(), wf.validateInputs(inputs));
    assertEquals("Write a short, friendly greeting for Ada.", wf.renderPrompt("greet", EvalContext.of(inputs, Map.of())));
  }

  @Test
  void aBundledWorkflowCanBeReadDirectly() {
    assertEquals(catalog.find("hello").orElseThrow(), WorkflowParser.fromResource("workflows/hello.yaml"));
  }
}
