package dev.orrery.core.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.core.workflow.CompiledWorkflow;
import dev.orrery.core.workflow.EvalContext;
import dev.orrery.core.workflow.NodeResult;
import dev.orrery.core.workflow.WorkflowCatalog;
import dev.orrery.core.workflow.WorkflowParser;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class PlannerTest {
  private static final CompiledWorkflow DIAMOND = compile("""
      name: diamond
      nodes:
        - {id: a, type: llm, prompt: x}
        - {id: b, type: llm, prompt: "{{a.output}}"}
        - {id: c, type: llm, prompt: x, depends_on: [a]}
        - {id: d, type: llm, prompt: x, depends_on: [b, c]}
      """);

  private static CompiledWorkflow compile(String yaml) {
    return CompiledWorkflow.compile(WorkflowParser.parse(yaml));
  }

  /** A run's state as the planner sees it, advanced one step at a time like the Run entity would. */
  private static final class Run {
    final CompiledWorkflow wf;
    final Map<String, Object> inputs;
    final Map<String, NodePhase> phases = new HashMap<>();
    final Map<String, NodeResult> results = new LinkedHashMap<>();

    Run(CompiledWorkflow wf, Map<String, Object> inputs) {
      this.wf = wf;
      this.inputs = wf.withDefaults(inputs);
    }

    Plan plan() {
      Plan plan = Planner.plan(wf, EvalContext.of(inputs, results), phases);
      for (String id : plan.skip()) {
        phases.put(id, NodePhase.SKIPPED);
        results.put(id, NodeResult.skipped());
      }
      return plan;
    }

    void succeed(String id, Object output) {
      phases.put(id, NodePhase.SUCCEEDED);
      results.put(id, NodeResult.succeeded(output));
    }
  }

  private static List<String> readyIds(Plan plan) {
    return plan.ready().stream().map(Plan.Ready::nodeId).collect(Collectors.toList());
  }

  @Test
  void aDiamondRunsTheMiddleTogetherThenTheJoin() {
    var run = new Run(DIAMOND, Map.of());
    assertEquals(List.of("a"), readyIds(run.plan()));
    run.phases.put("a", NodePhase.STARTED);
    assertEquals(List.of(), readyIds(run.plan()), "a started node is never ready again");

    run.succeed("a", "A");
    Plan middle = run.plan();
    assertEquals(List.of("b", "c"), readyIds(middle));
    assertEquals("llm", middle.ready().get(0).kind());
    assertNull(middle.ready().get(0).items());

    run.phases.put("b", NodePhase.STARTED);
    run.phases.put("c", NodePhase.STARTED);
    run.succeed("b", "B");
    assertEquals(List.of(), readyIds(run.plan()), "d waits for c");
    run.succeed("c", "C");
    Plan last = run.plan();
    assertEquals(List.of("d"), readyIds(last));
    assertFalse(last.finished());
    assertEquals(Map.of(), last.outputs());

    run.succeed("d", Map.of("answer", 42));
    Plan done = run.plan();
    assertTrue(done.finished());
    assertEquals(List.of(), done.ready());
    assertEquals(Map.of("d", Map.of("answer", 42L)), done.outputs());
  }

  @Test
  void aFalseWhenSkipsTheNodeAndItsDependantsButNotUnrelatedNodes() {
    CompiledWorkflow wf = compile("""
        name: t
        nodes:
          - {id: sentiment, type: llm, prompt: x}
          - {id: report, type: llm, prompt: x, when: "sentiment.output.label == 'positive'"}
          - {id: publish, type: llm, prompt: "{{report.output}}"}
          - {id: archive, type: llm, prompt: x, depends_on: [publish]}
          - {id: audit, type: llm, prompt: "{{sentiment.output}}"}
          - {id: other, type: llm, prompt: x}
        """);
    var run = new Run(wf, Map.of());
    assertEquals(List.of("sentiment", "other"), readyIds(run.plan()));
    run.succeed("sentiment", Map.of("label", "negative"));
    run.succeed("other", "o");

    Plan plan = run.plan();
    assertEquals(List.of("report", "publish", "archive"), plan.skip(), "skips propagate within one call");
    assertEquals(List.of("audit"), readyIds(plan));
    assertFalse(plan.finished());

    run.succeed("audit", "ok");
    Plan done = run.plan();
    assertTrue(done.finished());
    assertEquals(List.of("archive", "audit", "other"), List.copyOf(wf.sinks()));
    assertEquals(List.of("audit", "other"), List.copyOf(done.outputs().keySet()), "skipped sinks have no output");
  }

  @Test
  void aMapNodesOverListIsEvaluatedAndReturnedInInputOrder() {
    CompiledWorkflow wf = compile("""
        name: t
        inputs: {sections: {type: array}}
        nodes:
          - {id: per_section, type: map, over: inputs.sections, node: {type: llm, prompt: "{{item}}"}}
          - {id: extract, type: llm, prompt: x}
          - {id: per_fact, type: map, over: extract.output.facts, node: {type: llm, prompt: "{{item}}"}}
        """);
    var run = new Run(wf, Map.of("sections", List.of("intro", "body", "end")));
    Plan first = run.plan();
    assertEquals(List.of("per_section", "extract"), readyIds(first));
    Plan.Ready map = first.ready().get(0);
    assertEquals("map", map.kind());
    assertEquals(List.of("intro", "body", "end"), map.items());

    run.succeed("extract", Map.of("facts", List.of(Map.of("f", 2), Map.of("f", 1))));
    run.phases.put("per_section", NodePhase.STARTED);
    Plan second = run.plan();
    assertEquals(List.of("per_fact"), readyIds(second));
    assertEquals(List.of(Map.of("f", 2L), Map.of("f", 1L)), second.ready().get(0).items());
  }

  @Test
  void finishedRunsReportTheOutputsOfSucceededSinksInSpecOrder() {
    CompiledWorkflow wf = compile("""
        name: t
        nodes:
          - {id: z, type: llm, prompt: x}
          - {id: a, type: llm, prompt: x}
          - {id: mid, type: llm, prompt: "{{z.output}}"}
        """);
    var run = new Run(wf, Map.of());
    run.succeed("z", "Z");
    run.succeed("a", null);
    run.succeed("mid", "M");
    Plan plan = run.plan();
    assertTrue(plan.finished());
    assertEquals(List.of("a", "mid"), List.copyOf(plan.outputs().keySet()));
    assertTrue(plan.outputs().containsKey("a") && plan.outputs().get("a") == null, "a JSON null output is an output");
  }

  @Test
  void failedAndCancelledNodesAreFinishedButDoNotUnblockDependants() {
    var phases = new HashMap<String, NodePhase>();
    phases.put("a", NodePhase.SUCCEEDED);
    phases.put("b", NodePhase.FAILED);
    phases.put("c", NodePhase.SUCCEEDED);
    var ctx = EvalContext.of(Map.of(), Map.of("a", NodeResult.succeeded("A"), "c", NodeResult.succeeded("C")));
    Plan plan = Planner.plan(DIAMOND, ctx, phases);
    assertEquals(List.of(), plan.ready());
    assertFalse(plan.finished(), "d is still pending");
    assertEquals(List.of("d"), Planner.blocked(DIAMOND, phases));

    phases.put("d", NodePhase.CANCELLED);
    assertTrue(Planner.plan(DIAMOND, ctx, phases).finished());
    assertEquals(Map.of(), Planner.plan(DIAMOND, ctx, phases).outputs());
  }

  @Test
  void aWhenThatIsNotABoolIsAnErrorForThatNodeOnly() {
    CompiledWorkflow wf = compile("""
        name: t
        nodes:
          - {id: judge, type: llm, prompt: x}
          - {id: gated, type: llm, prompt: x, when: "judge.output.verdict"}
          - {id: after, type: llm, prompt: x, depends_on: [gated]}
          - {id: fine, type: llm, prompt: "{{judge.output}}"}
          - {id: fan, type: map, over: judge.output.verdict, node: {type: llm, prompt: "{{item}}"}}
        """);
    var run = new Run(wf, Map.of());
    run.succeed("judge", Map.of("verdict", "yes"));
    Plan plan = run.plan();
    assertEquals(List.of("fine"), readyIds(plan));
    assertEquals(List.of("gated", "fan"), plan.errors().stream().map(p -> p.path()).collect(Collectors.toList()));
    assertTrue(plan.errors().stream().allMatch(p -> p.code().equals("EVALUATION_ERROR")));
    assertTrue(plan.errors().get(0).message().contains("true or false"), plan.errors().get(0).message());
    assertEquals(List.of(), plan.skip());
  }

  @Test
  void planningTwiceGivesTheSameAnswer() {
    var phases = Map.of("a", NodePhase.SUCCEEDED);
    var ctx = EvalContext.of(Map.of(), Map.of("a", NodeResult.succeeded("A")));
    assertEquals(Planner.plan(DIAMOND, ctx, phases), Planner.plan(DIAMOND, ctx, phases));
  }

  @Test
  void theDocumentAnalysisExampleRunsEndToEnd() {
    CompiledWorkflow wf = CompiledWorkflow.compile(new WorkflowCatalog().find("document_analysis").orElseThrow());
    var run = new Run(wf, Map.of("document", "Great news.", "sections", List.of("one", "two")));
    Plan first = run.plan();
    assertEquals(List.of("summarize", "sentiment", "per_section"), readyIds(first));
    assertEquals("Extract the key facts of section 1: two",
        wf.renderPrompt("per_section", EvalContext.of(run.inputs, run.results).withItem("two", 1)));
    run.succeed("summarize", "S");
    run.succeed("sentiment", Map.of("label", "positive"));
    run.succeed("per_section", List.of("f1", "f2"));
    Plan second = run.plan();
    assertEquals(List.of("report"), readyIds(second));
    assertTrue(wf.renderPrompt("report", EvalContext.of(run.inputs, run.results))
        .contains("The key facts of each section, in order: [\"f1\",\"f2\"]"));
    run.succeed("report", "R");
    assertEquals(Map.of("report", "R"), run.plan().outputs());
  }
}
