package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class CompiledWorkflowValidationTest {

  private static List<Problem> problemsOf(String yaml) {
    WorkflowSpec spec = WorkflowParser.parse(yaml);
    return assertThrows(WorkflowException.class, () -> CompiledWorkflow.compile(spec)).problems();
  }

  /** The one problem of a workflow that should have exactly one. */
  private static Problem onlyProblem(String yaml) {
    List<Problem> problems = problemsOf(yaml);
    assertEquals(1, problems.size(), problems::toString);
    return problems.get(0);
  }

  private static void assertProblem(Problem p, String path, String code) {
    assertEquals(path, p.path(), p::toString);
    assertEquals(code, p.code(), p::toString);
  }

  @Test
  void aDuplicateIdIsReportedAtTheSecondNode() {
    Problem p = onlyProblem("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: one}
          - {id: a, type: llm, prompt: two}
        """);
    assertProblem(p, "nodes[1].id", "DUPLICATE_ID");
    assertTrue(p.message().contains("nodes[0]"), p.message());
  }

  @Test
  void anUnknownDependencyIsReportedAtItsEntry() {
    Problem p = onlyProblem("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: one}
          - {id: report, type: llm, prompt: two, depends_on: [a, summary]}
        """);
    assertProblem(p, "nodes[report].depends_on[1]", "UNKNOWN_DEPENDENCY");
    assertTrue(p.message().contains("'summary'"), p.message());
  }

  @Test
  void aCycleIsReportedWithItsPath() {
    Problem p = onlyProblem("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: one, depends_on: [c]}
          - {id: b, type: llm, prompt: two, depends_on: [a]}
          - {id: c, type: llm, prompt: three, depends_on: [b]}
          - {id: d, type: llm, prompt: four}
        """);
    assertProblem(p, "nodes[a].depends_on", "CYCLE");
    assertTrue(p.message().contains("a -> c -> b -> a"), p.message());
  }

  @Test
  void aCycleThroughATemplateReferenceCountsToo() {
    Problem p = onlyProblem("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: "{{b.output}}"}
          - {id: b, type: llm, prompt: two, depends_on: [a]}
        """);
    assertProblem(p, "nodes[a]", "CYCLE");
    assertTrue(p.message().contains("a -> b -> a"), p.message());
  }

  @Test
  void aNodeReadingItsOwnOutputIsACycle() {
    Problem p = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: '{{a.output}}'}]");
    assertEquals("CYCLE", p.code());
    assertTrue(p.message().contains("a -> a"), p.message());
  }

  @Test
  void templateReferencesToUnknownNodesAndInputsAreReported() {
    List<Problem> problems = problemsOf("""
        name: t
        inputs: {topic: {type: string}}
        nodes:
          - {id: a, type: llm, prompt: "{{inputs.topic}} {{inputs.topik}}"}
          - {id: b, type: llm, system: "{{summary.output}}", prompt: "{{a.output}} {{item}}"}
        """);
    assertEquals(3, problems.size(), problems::toString);
    assertProblem(problems.get(0), "nodes[a].prompt", "UNKNOWN_REFERENCE");
    assertTrue(problems.get(0).message().contains("'topik' is not a declared input; declared inputs: topic"));
    assertProblem(problems.get(1), "nodes[b].prompt", "UNKNOWN_REFERENCE");
    assertTrue(problems.get(1).message().contains("only defined in a map's per-item node"));
    assertProblem(problems.get(2), "nodes[b].system", "UNKNOWN_REFERENCE");
    assertTrue(problems.get(2).message().contains("'summary'"));
  }

  @Test
  void namesInsideSectionsAreNotChecked() {
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        inputs: {people: {type: array}}
        nodes:
          - {id: a, type: llm, prompt: "{{#inputs.people}}{{name}} is {{age}}; {{/inputs.people}}"}
        """));
    assertEquals(Set.of(), wf.dependencies("a"));
  }

  @Test
  void anInvalidTemplateIsReported() {
    Problem p = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: '{{#open}} never closed'}]");
    assertProblem(p, "nodes[a].prompt", "INVALID_TEMPLATE");
    Problem partial = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: '{{>header}}'}]");
    assertProblem(partial, "nodes[a].prompt", "INVALID_TEMPLATE");
    assertTrue(partial.message().contains("partials"), partial.message());
  }

  @Test
  void anInvalidConditionIsReportedWithCelsMessage() {
    Problem syntax = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: x, when: 'inputs.n >'}]");
    assertProblem(syntax, "nodes[a].when", "INVALID_CONDITION");
    assertTrue(syntax.message().contains("column"), syntax.message());

    Problem notBool = onlyProblem("name: t\ninputs: {n: {type: integer}}\nnodes: [{id: a, type: llm, prompt: x, when: 'inputs.n + 1'}]");
    assertProblem(notBool, "nodes[a].when", "INVALID_CONDITION");
    assertTrue(notBool.message().contains("true/false"), notBool.message());

    Problem notList = onlyProblem("name: t\nnodes: [{id: m, type: map, over: \"'abc'\", node: {type: llm, prompt: '{{item}}'}}]");
    assertProblem(notList, "nodes[m].over", "INVALID_CONDITION");
  }

  @Test
  void anUndeclaredNameInAConditionIsAnUnknownReference() {
    Problem node = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: x, when: \"summary.output == 'x'\"}]");
    assertProblem(node, "nodes[a].when", "UNKNOWN_REFERENCE");
    assertTrue(node.message().contains("undeclared reference to 'summary'"), node.message());

    Problem input = onlyProblem("name: t\ninputs: {n: {type: integer}}\nnodes: [{id: a, type: llm, prompt: x, when: 'inputs.m > 1'}]");
    assertProblem(input, "nodes[a].when", "UNKNOWN_REFERENCE");
    assertTrue(input.message().contains("'m' is not a declared input"), input.message());

    Problem item = onlyProblem("name: t\nnodes: [{id: a, type: llm, prompt: x, when: 'item > 1'}]");
    assertProblem(item, "nodes[a].when", "UNKNOWN_REFERENCE");
  }

  @Test
  void unsupportedNodeKindsAreRejectedListingTheSupportedOnes() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: workflow, prompt: x}
          - {id: d, type: teleport}
        """);
    assertEquals(2, problems.size(), problems::toString);
    for (Problem p : problems) assertEquals("UNKNOWN_NODE_TYPE", p.code());
    assertEquals("nodes[a].type", problems.get(0).path());
    assertTrue(problems.get(1).message().contains("unknown node kind 'teleport'; supported kinds: llm, map, approval, tool, agent"));
  }

  @Test
  void agentNodesNameAnAgentAndGiveItATask() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: agent, prompt: x}
          - {id: b, type: agent, agent: helper, context: [1], model: m}
          - {id: c, type: agent, agent: helper, prompt: "do {{nope.output}}", context: {k: "{{inputs.x}}"}}
        """);
    List<String> found = problems.stream().map(p -> p.path() + " " + p.code()).toList();
    assertEquals(List.of("nodes[a].agent MISSING_FIELD", "nodes[b].prompt MISSING_FIELD", "nodes[b].context INVALID_VALUE",
        "nodes[b].model UNEXPECTED_FIELD", "nodes[c].prompt UNKNOWN_REFERENCE", "nodes[c].context.k UNKNOWN_REFERENCE"),
        found, problems::toString);
  }

  @Test
  void toolNodesNameAToolAndTheirArgumentsAreTemplates() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: tool}
          - {id: b, type: tool, tool: calculator, arguments: [1], prompt: x}
          - {id: c, type: tool, tool: calculator, arguments: {expression: "{{nope.output}} + 1"}}
          - {id: d, type: llm, prompt: x, tool: calculator}
        """);
    List<String> found = problems.stream().map(p -> p.path() + " " + p.code()).toList();
    assertEquals(List.of("nodes[a].tool MISSING_FIELD", "nodes[b].arguments INVALID_VALUE", "nodes[b].prompt UNEXPECTED_FIELD",
        "nodes[c].arguments.expression UNKNOWN_REFERENCE", "nodes[d].tool UNEXPECTED_FIELD"), found, problems::toString);
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        inputs: {n: {type: number}}
        nodes:
          - {id: first, type: llm, prompt: x}
          - {id: sum, type: tool, tool: calculator, arguments: {expression: "{{inputs.n}} + 1", keep: 3, list: ["{{first.output}}"]}}
        """));
    assertEquals(java.util.Set.of("first"), wf.dependencies("sum"), "a template in the arguments makes a dependency");
    JsonNode args = wf.renderArguments("sum", EvalContext.of(java.util.Map.of("n", 41),
        java.util.Map.of("first", NodeResult.succeeded("hello"))));
    assertEquals("{\"expression\":\"41 + 1\",\"keep\":3,\"list\":[\"hello\"]}", args.toString());
  }

  @Test
  void approvalNodesNeedAPromptAndTakeOnlyTheirOwnFields() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: approval}
          - {id: b, type: approval, prompt: "ok?", default: maybe, timeout_ms: 1000, on_deny: shrug, model: m}
          - {id: c, type: approval, prompt: "ok?", default: approve}
          - {id: d, type: llm, prompt: x, on_deny: continue}
          - {id: e, type: approval, prompt: "ship {{d.output}}?", timeout_ms: 60000, default: approve, on_deny: continue}
        """);
    List<String> found = problems.stream().map(p -> p.path() + " " + p.code()).toList();
    assertEquals(List.of("nodes[a].prompt MISSING_FIELD", "nodes[b].default INVALID_VALUE", "nodes[b].on_deny INVALID_VALUE",
        "nodes[b].model UNEXPECTED_FIELD", "nodes[c].default UNEXPECTED_FIELD", "nodes[d].on_deny UNEXPECTED_FIELD"),
        found, problems::toString);
  }

  @Test
  void missingPerKindFieldsAreReported() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: llm}
          - {id: m, type: map}
          - {id: n, type: map, over: '[1, 2]', node: {type: map}}
          - {type: llm, prompt: x}
        """);
    assertEquals(List.of("nodes[3].id MISSING_FIELD", "nodes[a].prompt MISSING_FIELD", "nodes[m].over MISSING_FIELD",
            "nodes[m].node MISSING_FIELD", "nodes[n].node.type UNKNOWN_NODE_TYPE"),
        problems.stream().map(p -> p.path() + " " + p.code()).collect(Collectors.toList()));
  }

  @Test
  void limitsOutOfRangeAreReported() {
    List<Problem> problems = problemsOf("""
        name: t
        policy:
          max_parallel: 0
          token_budget: 0
          on_budget_exhausted: shrug
          timeout_ms: 86400001
          step_timeout_ms: 0
          retry: {max_attempts: 21, backoff_ms: -1, multiplier: 0.5}
        nodes:
          - {id: a, type: llm, prompt: x, max_tokens: 0, temperature: 2.5, timeout_ms: 0, retry: {max_attempts: 0}}
          - {id: m, type: map, over: '[1]', max_parallel: 1001, node: {type: llm, prompt: '{{item}}', max_tokens: 1000001}}
        """);
    List<String> paths = problems.stream().map(Problem::path).collect(Collectors.toList());
    assertEquals(List.of("policy.max_parallel", "policy.token_budget", "policy.on_budget_exhausted",
        "policy.timeout_ms", "policy.step_timeout_ms", "policy.retry.max_attempts", "policy.retry.backoff_ms",
        "policy.retry.multiplier", "nodes[a].max_tokens", "nodes[a].temperature", "nodes[a].timeout_ms",
        "nodes[a].retry.max_attempts", "nodes[m].max_parallel", "nodes[m].node.max_tokens"), paths);
    assertTrue(problems.stream().allMatch(p -> p.code().equals("OUT_OF_RANGE")), problems::toString);
    assertEquals("max_parallel must be between 1 and 1000, was 0", problems.get(0).message());
  }

  @Test
  void invalidAndReservedIdsAreRejected() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: my-node, type: llm, prompt: x}
          - {id: 1st, type: llm, prompt: x}
          - {id: inputs, type: llm, prompt: x}
          - {id: item, type: llm, prompt: x}
          - {id: in, type: llm, prompt: x}
        """);
    assertEquals(5, problems.size(), problems::toString);
    assertTrue(problems.stream().allMatch(p -> p.code().equals("INVALID_ID")), problems::toString);
    assertEquals("nodes[0].id", problems.get(0).path());
    assertTrue(problems.get(2).message().contains("reserved"));
  }

  @Test
  void anInvalidOutputSchemaIsReported() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: x, output_schema: {type: objekt, required: label}}
          - {id: b, type: llm, prompt: x, output_schema: [not, an, object]}
          - {id: c, type: llm, prompt: x, output_schema: {$ref: 'https://example.com/schema.json'}}
        """);
    assertEquals(List.of("nodes[a].output_schema", "nodes[b].output_schema", "nodes[c].output_schema"),
        problems.stream().map(Problem::path).collect(Collectors.toList()));
    assertTrue(problems.stream().allMatch(p -> p.code().equals("INVALID_SCHEMA")), problems::toString);
    assertTrue(problems.get(0).message().contains("$.type"), problems.get(0).message());
    assertTrue(problems.get(1).message().contains("must be a JSON object"), problems.get(1).message());
    assertTrue(problems.get(2).message().contains("not allowed to be loaded"), "nothing is fetched: " + problems.get(2).message());
  }

  @Test
  void fieldsThatDoNotApplyToAKindAreReported() {
    List<Problem> problems = problemsOf("""
        name: t
        nodes:
          - {id: a, type: llm, prompt: x, over: '[1]'}
          - {id: m, type: map, over: '[1]', prompt: x, node: {type: llm, prompt: '{{item}}', when: 'true', depends_on: [a]}}
        """);
    assertEquals(List.of("nodes[a].over", "nodes[m].node.depends_on", "nodes[m].node.when", "nodes[m].prompt"),
        problems.stream().map(Problem::path).sorted().collect(Collectors.toList()));
    assertTrue(problems.stream().allMatch(p -> p.code().equals("UNEXPECTED_FIELD")), problems::toString);
  }

  @Test
  void inputDeclarationsAreChecked() {
    List<Problem> problems = problemsOf("""
        name: t
        inputs:
          n: {type: integer, default: two}
          s: {type: text}
          bad-name: {type: string}
        nodes: [{id: a, type: llm, prompt: x}]
        """);
    assertEquals(List.of("inputs.n.default INVALID_INPUT", "inputs.s.type UNKNOWN_INPUT_TYPE", "inputs.bad-name INVALID_ID"),
        problems.stream().map(p -> p.path() + " " + p.code()).collect(Collectors.toList()));
  }

  @Test
  void aSpecWithSeveralProblemsReportsThemAllWithTheirPaths() {
    List<Problem> problems = problemsOf("""
        name: t
        version: 0
        inputs: {doc: {type: string}}
        policy: {max_parallel: 5000}
        nodes:
          - {id: summarize, type: llm, prompt: "{{inputs.document}}"}
          - {id: summarize, type: llm, prompt: again}
          - {id: report, type: teleport}
          - {id: check, type: llm, prompt: "{{summarize.output}}", when: "summarize.output ==", depends_on: [ghost]}
          - {id: loop1, type: llm, prompt: x, depends_on: [loop2]}
          - {id: loop2, type: llm, prompt: x, depends_on: [loop1]}
        """);
    List<String> found = problems.stream().map(p -> p.path() + " " + p.code()).collect(Collectors.toList());
    assertEquals(List.of(
        "version OUT_OF_RANGE",
        "policy.max_parallel OUT_OF_RANGE",
        "nodes[1].id DUPLICATE_ID",
        "nodes[summarize].prompt UNKNOWN_REFERENCE",
        "nodes[report].type UNKNOWN_NODE_TYPE",
        "nodes[check].depends_on[0] UNKNOWN_DEPENDENCY",
        "nodes[check].when INVALID_CONDITION",
        "nodes[loop1].depends_on CYCLE"), found);
    var e = assertThrows(WorkflowException.class, () -> CompiledWorkflow.compile(WorkflowParser.parse("name: t\nnodes: []")));
    assertEquals("nodes: a workflow needs at least one node [MISSING_FIELD]", e.getMessage());
  }

  @Test
  void theMessageOfTheExceptionSummarisesEveryProblem() {
    var e = assertThrows(WorkflowException.class, () -> CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        nodes: [{id: a, type: llm}, {id: b, type: teleport}]
        """)));
    assertTrue(e.getMessage().startsWith("2 problems: nodes[a].prompt: "), e.getMessage());
    assertTrue(e.getMessage().contains("nodes[b].type"), e.getMessage());
  }

  @Test
  void referencesMakeImplicitDependencies() {
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        inputs: {xs: {type: array}}
        nodes:
          - {id: extract, type: llm, prompt: x}
          - {id: label, type: llm, prompt: x}
          - {id: tone, type: llm, prompt: x}
          - id: each
            type: map
            over: extract.output.items
            when: "label.output == 'go'"
            node: {type: llm, prompt: "{{item}} in the tone of {{tone.output}}"}
          - {id: final, type: llm, prompt: done, depends_on: [each]}
          - {id: loose, type: llm, prompt: "{{#inputs.xs}}{{label.output}}{{/inputs.xs}}"}
        """));
    assertEquals(List.of("extract", "label", "tone"), List.copyOf(wf.dependencies("each")));
    assertEquals(Set.of("each"), wf.dependencies("final"));
    assertEquals(Set.of("label"), wf.dependencies("loose"), "a node named inside a section is still read");
    assertEquals(List.of("final", "loose"), List.copyOf(wf.sinks()));
    assertEquals(List.of("extract", "label", "tone", "each", "final", "loose"), wf.topologicalOrder());
  }

  @Test
  void comprehensionVariablesAreNotDependencies() {
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        inputs: {xs: {type: array}}
        nodes:
          - {id: a, type: llm, prompt: x}
          - {id: b, type: llm, prompt: x, when: "inputs.xs.exists(a, a == 'yes')"}
        """));
    assertEquals(Set.of(), wf.dependencies("b"));
  }

  @Test
  void theTopologicalOrderKeepsSpecOrderAmongIndependentNodes() {
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        nodes:
          - {id: d, type: llm, prompt: x, depends_on: [b, c]}
          - {id: c, type: llm, prompt: x, depends_on: [a]}
          - {id: b, type: llm, prompt: x, depends_on: [a]}
          - {id: a, type: llm, prompt: x}
        """));
    assertEquals(List.of("a", "c", "b", "d"), wf.topologicalOrder());
    assertEquals(Set.of("d"), wf.sinks());
  }

  @Test
  void aMapNodesEffectiveStepIsItsItemNodeUnderTheMapsId() {
    CompiledWorkflow wf = CompiledWorkflow.compile(WorkflowParser.parse("""
        name: t
        policy: {step_timeout_ms: 1000, retry: {max_attempts: 2}}
        nodes:
          - id: m
            type: map
            over: '[1, 2]'
            timeout_ms: 9000
            retry: {max_attempts: 7}
            node: {type: llm, model: small, prompt: "{{item}}", output_schema: {type: string}}
          - {id: plain, type: llm, prompt: x}
        """));
    NodeSpec step = wf.effectiveStep("m");
    assertEquals("m", step.id());
    assertEquals("llm", step.type());
    assertEquals("small", step.model());
    assertEquals(9000L, step.timeoutMs());
    assertEquals(7, step.retry().maxAttempts());
    assertEquals(9000L, wf.stepTimeoutMs("m"));
    assertEquals(1000L, wf.stepTimeoutMs("plain"));
    assertEquals(2, wf.retryPolicy("plain").maxAttempts());
    assertEquals(wf.node("plain"), wf.effectiveStep("plain"));
    assertEquals(List.of(), wf.validateOutput("m", "fine"));
    assertFalse(wf.validateOutput("m", 3L).isEmpty());
  }

  @Test
  void compilingIsCheapEnoughToDoPerRun() {
    String yaml = """
        name: t
        inputs: {xs: {type: array}, doc: {type: string}}
        nodes:
          - {id: a, type: llm, prompt: "{{inputs.doc}}", output_schema: {type: object, properties: {label: {type: string}}}}
          - {id: b, type: llm, prompt: "{{a.output}}", when: "a.output.label == 'x'"}
          - {id: m, type: map, over: inputs.xs, node: {type: llm, prompt: "{{item}} {{b.output}}"}}
        """;
    WorkflowSpec spec = WorkflowParser.parse(yaml);
    CompiledWorkflow.compile(spec); // warm up the libraries once
    long start = System.nanoTime();
    for (int i = 0; i < 20; i++) CompiledWorkflow.compile(spec);
    long perCompileMs = (System.nanoTime() - start) / 20 / 1_000_000;
    assertTrue(perCompileMs < 100, "compiling took " + perCompileMs + " ms");
  }
}
