package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConditionEvaluationTest {
  private static final CompiledWorkflow WF = CompiledWorkflow.compile(WorkflowParser.parse("""
      name: t
      inputs:
        sections: {type: array}
        threshold: {type: number, default: 2}
        note: {type: string, required: false}
      nodes:
        - {id: sentiment, type: llm, prompt: x}
        - {id: report, type: llm, prompt: x, when: "sentiment.output.label == 'positive'"}
        - {id: scored, type: llm, prompt: x, when: "sentiment.output.score > inputs.threshold"}
        - {id: noted, type: llm, prompt: x, when: "inputs.note == null"}
        - {id: odd, type: llm, prompt: x, when: "sentiment.output.label"}
        - {id: counted, type: llm, prompt: x, when: "inputs.sections.exists(s, s == 'intro') && sentiment.status == 'SUCCEEDED'"}
        - {id: per_section, type: map, over: inputs.sections, node: {type: llm, prompt: "{{item}}"}}
        - {id: per_item, type: map, over: sentiment.output.items, node: {type: llm, prompt: "{{item}}"}}
        - {id: plain, type: llm, prompt: x}
      """));

  private static EvalContext ctx(Map<String, Object> inputs, Object sentimentOutput) {
    return EvalContext.of(WF.withDefaults(inputs), Map.of("sentiment", NodeResult.succeeded(sentimentOutput)));
  }

  @Test
  void aConditionReadsAFieldOfANodesJsonOutput() {
    assertTrue(WF.evaluateWhen("report", ctx(Map.of("sections", List.of()), Map.of("label", "positive"))));
    assertFalse(WF.evaluateWhen("report", ctx(Map.of("sections", List.of()), Map.of("label", "negative"))));
    assertTrue(WF.evaluateWhen("plain", EvalContext.empty()), "no when means run");
  }

  @Test
  void numbersCompareWhateverJavaTypeTheyArrivedAs() {
    assertTrue(WF.evaluateWhen("scored", ctx(Map.of("sections", List.of()), Map.of("score", 3))));
    assertFalse(WF.evaluateWhen("scored", ctx(Map.of("sections", List.of(), "threshold", 3.5f), Map.of("score", 3))));
    assertTrue(WF.evaluateWhen("scored", ctx(Map.of("sections", List.of(), "threshold", 2.5), Map.of("score", 3L))));
  }

  @Test
  void anOptionalInputThatIsAbsentIsNull() {
    assertTrue(WF.evaluateWhen("noted", ctx(Map.of("sections", List.of()), "x")));
    assertFalse(WF.evaluateWhen("noted", ctx(Map.of("sections", List.of(), "note", "hi"), "x")));
  }

  @Test
  void macrosAndStatusesAreAvailable() {
    assertTrue(WF.evaluateWhen("counted", ctx(Map.of("sections", List.of("intro", "body")), "x")));
    assertFalse(WF.evaluateWhen("counted", ctx(Map.of("sections", List.of("body")), "x")));
  }

  @Test
  void aConditionThatIsNotABoolIsAnEvaluationError() {
    var e = assertThrows(EvaluationException.class,
        () -> WF.evaluateWhen("odd", ctx(Map.of("sections", List.of()), Map.of("label", "positive"))));
    assertEquals("nodes[odd].when", e.problem().path());
    assertEquals("EVALUATION_ERROR", e.problem().code());
    assertTrue(e.getMessage().contains("must give true or false, but gave \"positive\" (string)"), e.getMessage());
  }

  @Test
  void aMissingFieldIsAnEvaluationError() {
    var e = assertThrows(EvaluationException.class,
        () -> WF.evaluateWhen("report", ctx(Map.of("sections", List.of()), Map.of("mood", "sunny"))));
    assertTrue(e.getMessage().contains("label"), e.getMessage());
    assertThrows(EvaluationException.class, () -> WF.evaluateWhen("report", ctx(Map.of("sections", List.of()), "just text")));
  }

  @Test
  void overGivesTheListInOrderWithPlainValues() {
    List<Object> items = WF.evaluateOver("per_section",
        ctx(Map.of("sections", Arrays.asList("b", 2, null, Map.of("k", 1))), "x"));
    assertEquals(Arrays.asList("b", 2L, null, Map.of("k", 1L)), items);
    assertThrows(UnsupportedOperationException.class, () -> items.add("more"));
    assertEquals(List.of("p", "q"), WF.evaluateOver("per_item", ctx(Map.of("sections", List.of()), Map.of("items", List.of("p", "q")))));
  }

  @Test
  void anOverThatIsNotAListIsAnEvaluationError() {
    var e = assertThrows(EvaluationException.class,
        () -> WF.evaluateOver("per_item", ctx(Map.of("sections", List.of()), Map.of("items", "p, q"))));
    assertEquals("nodes[per_item].over", e.problem().path());
    assertTrue(e.getMessage().contains("must give a list"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> WF.evaluateOver("plain", EvalContext.empty()));
  }

  @Test
  void aCompiledWorkflowIsSafeToShareBetweenThreads() throws Exception {
    var threads = new Thread[4];
    var failures = new java.util.concurrent.atomic.AtomicInteger();
    for (int t = 0; t < threads.length; t++) {
      final String label = t % 2 == 0 ? "positive" : "negative";
      threads[t] = new Thread(() -> {
        for (int i = 0; i < 200; i++) {
          EvalContext c = ctx(Map.of("sections", List.of("s" + i)), Map.of("label", label));
          boolean when = WF.evaluateWhen("report", c);
          String item = WF.renderPrompt("per_section", c.withItem("s" + i, 0));
          if (when != label.equals("positive") || !item.equals("s" + i)) failures.incrementAndGet();
        }
      });
      threads[t].start();
    }
    for (Thread t : threads) t.join();
    assertEquals(0, failures.get());
  }
}
