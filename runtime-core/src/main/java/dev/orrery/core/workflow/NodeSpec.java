package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One node of a workflow, as written. Which fields matter depends on {@code type}: an {@code llm} node
 * renders {@code prompt} (and {@code system}) and calls a model; a {@code map} node evaluates
 * {@code over} to a list and runs its per-item {@code node} once per item; an {@code approval} node
 * shows its rendered {@code prompt} to a person and waits for their decision; a {@code tool} node calls
 * {@code tool} with its rendered {@code arguments}; an {@code agent} node gives an agent its rendered
 * {@code prompt} as the task. Any node may have
 * {@code depends_on} and a {@code when} condition. {@link CompiledWorkflow#compile} checks the fields.
 *
 * @param dependsOn explicit dependencies; nodes referenced by templates, {@code when} or {@code over}
 *     are dependencies too (see {@link CompiledWorkflow#dependencies})
 * @param timeoutMs this node's step deadline, or null for the policy's {@code step_timeout_ms}
 * @param retry this node's retries, or null for the policy's
 * @param maxParallel a map node's concurrency over its items, or null for the policy's
 * @param node a map node's per-item template (an {@code llm} node; its id may be absent)
 * @param defaultDecision an {@code approval} node's decision when its {@code timeout_ms} passes:
 *     {@code approve} or {@code deny} (the default)
 * @param onDeny an {@code approval} node's answer to a denial: {@code fail} (the default) or {@code continue}
 * @param tool a {@code tool} node's tool (a name of the node's tool registry)
 * @param arguments a {@code tool} node's arguments: a JSON object whose strings are templates
 * @param agent an {@code agent} node's agent (by name; its tenant's active version), whose task is the
 *     node's rendered {@code prompt}
 * @param context an {@code agent} node's context for the task: a JSON object whose strings are templates
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record NodeSpec(
    @JsonProperty("id") String id,
    @JsonProperty("type") String type,
    @JsonProperty("depends_on") List<String> dependsOn,
    @JsonProperty("when") String when,
    @JsonProperty("prompt") String prompt,
    @JsonProperty("system") String system,
    @JsonProperty("route") String route,
    @JsonProperty("model") String model,
    @JsonProperty("max_tokens") Integer maxTokens,
    @JsonProperty("temperature") Double temperature,
    @JsonProperty("output_schema") JsonNode outputSchema,
    @JsonProperty("timeout_ms") Long timeoutMs,
    @JsonProperty("retry") RetryPolicy retry,
    @JsonProperty("over") String over,
    @JsonProperty("max_parallel") Integer maxParallel,
    @JsonProperty("node") NodeSpec node,
    @JsonProperty("default") String defaultDecision,
    @JsonProperty("on_deny") String onDeny,
    @JsonProperty("tool") String tool,
    @JsonProperty("arguments") JsonNode arguments,
    @JsonProperty("agent") String agent,
    @JsonProperty("context") JsonNode context) {

  public static final String LLM = "llm";
  public static final String MAP = "map";
  public static final String APPROVAL = "approval";
  public static final String TOOL = "tool";
  public static final String AGENT = "agent";
  /** The kinds this version runs. */
  public static final List<String> KINDS = List.of(LLM, MAP, APPROVAL, TOOL, AGENT);
  public static final String APPROVE = "approve";
  public static final String DENY = "deny";
  /** {@code on_deny}: a denial fails the node (and the run), or the run goes on with {@code approved: false}. */
  public static final String ON_DENY_FAIL = "fail";
  public static final String ON_DENY_CONTINUE = "continue";

  public NodeSpec {
    if (dependsOn == null) {
      dependsOn = List.of();
    } else {
      var copy = new ArrayList<>(dependsOn);
      if (copy.contains(null)) throw new IllegalArgumentException("depends_on must not contain an empty entry");
      dependsOn = Collections.unmodifiableList(copy);
    }
    // JsonNode is mutable; a copy keeps a shared spec from changing under a compiled workflow.
    if (outputSchema != null) outputSchema = outputSchema.deepCopy();
    if (arguments != null) arguments = arguments.deepCopy();
    if (context != null) context = context.deepCopy();
  }

  /** An {@code llm} node with just an id and a prompt. */
  public static NodeSpec llm(String id, String prompt) {
    return new NodeSpec(id, LLM, null, null, prompt, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);
  }

  public NodeSpec withId(String newId) {
    return new NodeSpec(newId, type, dependsOn, when, prompt, system, route, model, maxTokens, temperature,
        outputSchema, timeoutMs, retry, over, maxParallel, node, defaultDecision, onDeny, tool, arguments, agent, context);
  }

  public NodeSpec withDependsOn(List<String> newDependsOn) {
    return new NodeSpec(id, type, newDependsOn, when, prompt, system, route, model, maxTokens, temperature,
        outputSchema, timeoutMs, retry, over, maxParallel, node, defaultDecision, onDeny, tool, arguments, agent, context);
  }

  public NodeSpec withWhen(String newWhen) {
    return new NodeSpec(id, type, dependsOn, newWhen, prompt, system, route, model, maxTokens, temperature,
        outputSchema, timeoutMs, retry, over, maxParallel, node, defaultDecision, onDeny, tool, arguments, agent, context);
  }

  /** The same node with another prompt, model or route (null keeps the node's own): a fork's "what if". */
  public NodeSpec withOverrides(String newPrompt, String newModel, String newRoute) {
    return new NodeSpec(id, type, dependsOn, when, newPrompt != null ? newPrompt : prompt, system,
        newRoute != null ? newRoute : route, newModel != null ? newModel : model, maxTokens, temperature,
        outputSchema, timeoutMs, retry, over, maxParallel, node, defaultDecision, onDeny, tool, arguments, agent, context);
  }

  NodeSpec withTimeoutAndRetry(Long newTimeoutMs, RetryPolicy newRetry) {
    return new NodeSpec(id, type, dependsOn, when, prompt, system, route, model, maxTokens, temperature,
        outputSchema, newTimeoutMs, newRetry, over, maxParallel, node, defaultDecision, onDeny, tool, arguments, agent, context);
  }
}
