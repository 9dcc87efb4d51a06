package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TemplateRenderingTest {
  private static final CompiledWorkflow WF = CompiledWorkflow.compile(WorkflowParser.parse("""
      name: t
      inputs:
        name: {type: string}
        options: {type: object, required: false}
        tags: {type: array, required: false}
        count: {type: integer, required: false}
      nodes:
        - {id: facts, type: llm, prompt: x}
        - id: greet
          type: llm
          system: "You address {{inputs.name}}."
          prompt: "Hi {{inputs.name}} <b>&</b>; options={{inputs.options}}; tags={{inputs.tags}}; count={{inputs.count}}; facts={{facts.output}} ({{facts.status}})"
        - {id: lookup, type: llm, prompt: "label={{facts.output.label}} missing=[{{facts.output.nope}}] deep=[{{facts.output.nope.deeper}}] len=[{{inputs.name.length}}]"}
        - {id: each, type: map, over: inputs.tags, node: {type: llm, prompt: "{{index}}: {{item}} / {{item.k}}", system: "for {{inputs.name}}"}}
        - {id: sections, type: llm, prompt: "{{#inputs.tags}}[{{.}}]{{/inputs.tags}}{{^inputs.options}}no options{{/inputs.options}}"}
      """));

  private static EvalContext ctx(Map<String, Object> inputs, Map<String, NodeResult> nodes) {
    return EvalContext.of(WF.withDefaults(inputs), nodes);
  }

  @Test
  void inputsAndNodeOutputsRenderAsTextAndObjectsAsCompactJson() {
    var options = new LinkedHashMap<String, Object>();
    options.put("tone", "warm");
    options.put("max", 3);
    options.put("none", null);
    EvalContext c = ctx(Map.of("name", "Ada", "options", options, "tags", List.of("a", 1, true), "count", 7),
        Map.of("facts", NodeResult.succeeded(Map.of("label", "positive"))));
    assertEquals("Hi Ada <b>&</b>; options={\"tone\":\"warm\",\"max\":3,\"none\":null}; tags=[\"a\",1,true]; count=7; "
        + "facts={\"label\":\"positive\"} (SUCCEEDED)", WF.renderPrompt("greet", c));
    assertEquals("You address Ada.", WF.renderSystem("greet", c));
    assertNull(WF.renderSystem("facts", c));
  }

  @Test
  void missingValuesRenderAsNothing() {
    EvalContext c = ctx(Map.of("name", "Ada"), Map.of("facts", NodeResult.skipped()));
    assertEquals("Hi Ada <b>&</b>; options=; tags=; count=; facts= (SKIPPED)", WF.renderPrompt("greet", c));
    EvalContext withLabel = ctx(Map.of("name", "Ada"), Map.of("facts", NodeResult.succeeded(Map.of("label", "x"))));
    assertEquals("label=x missing=[] deep=[] len=[]", WF.renderPrompt("lookup", withLabel),
        "fields of plain values only: no method is called on a string");
  }

  @Test
  void aMapNodeRendersItsItemTemplateWithItemAndIndex() {
    EvalContext base = ctx(Map.of("name", "Ada", "tags", List.of("x", Map.of("k", "v"))), Map.of());
    assertEquals("0: x / ", WF.renderPrompt("each", base.withItem("x", 0)));
    assertEquals("1: {\"k\":\"v\"} / v", WF.renderPrompt("each", base.withItem(Map.of("k", "v"), 1)));
    assertEquals("for Ada", WF.renderSystem("each", base.withItem("x", 0)));
  }

  @Test
  void sectionsIterateListsAndInvertedSectionsTestAbsence() {
    assertEquals("[a][b]no options", WF.renderPrompt("sections", ctx(Map.of("name", "A", "tags", List.of("a", "b")), Map.of())));
  }

  @Test
  void jsonNullsInsideValuesSurvive() {
    EvalContext c = ctx(Map.of("name", "Ada", "tags", Arrays.asList("a", null)), Map.of("facts", NodeResult.succeeded("plain text")));
    assertEquals("Hi Ada <b>&</b>; options=; tags=[\"a\",null]; count=; facts=plain text (SUCCEEDED)", WF.renderPrompt("greet", c));
  }
}
