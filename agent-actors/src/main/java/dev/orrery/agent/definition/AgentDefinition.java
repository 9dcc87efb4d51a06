package dev.orrery.agent.definition;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.orrery.core.JsonSerializable;
import dev.orrery.core.workflow.OutputSchemas;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An agent as data: what it is for, how it is prompted, which tools it may call, which model serves it,
 * and the shape of its answer. Read from YAML or JSON by {@link #parse}, which refuses unknown fields and
 * reports every problem at once, each naming its field.
 *
 * @param inputSchema a JSON Schema for the {@code context} an execution passes, or null for any
 * @param outputSchema a JSON Schema the final answer must satisfy, or null for free text
 * @param tools the names of the tools the agent may call (the node offers those it has)
 * @param route a router policy; null when {@code model} pins a model (neither: the {@code default} route)
 * @param maxIterations the most model calls that may ask for tools before the agent must answer
 * @param maxTokens the most tokens one model reply may use
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AgentDefinition(
    @JsonProperty("name") String name,
    @JsonProperty("category") String category,
    @JsonProperty("description") String description,
    @JsonProperty("system_prompt") String systemPrompt,
    @JsonProperty("input_schema") JsonNode inputSchema,
    @JsonProperty("output_schema") JsonNode outputSchema,
    @JsonProperty("tools") List<String> tools,
    @JsonProperty("route") String route,
    @JsonProperty("model") String model,
    @JsonProperty("max_iterations") int maxIterations,
    @JsonProperty("temperature") Double temperature,
    @JsonProperty("max_tokens") int maxTokens) implements JsonSerializable {

  public static final int DEFAULT_MAX_ITERATIONS = 8;
  public static final int MAX_MAX_ITERATIONS = 50;
  public static final int DEFAULT_MAX_TOKENS = 1024;
  public static final String DEFAULT_CATEGORY = "general";

  static final Set<String> FIELDS = Set.of("name", "category", "description", "system_prompt", "input_schema",
      "output_schema", "tools", "route", "model", "max_iterations", "temperature", "max_tokens");
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_-]{0,63}");
  private static final Pattern TOOL = Pattern.compile("[a-zA-Z][a-zA-Z0-9_.-]{0,63}");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  public AgentDefinition {
    tools = tools == null ? List.of() : List.copyOf(tools);
  }

  /** Reads a definition written in YAML or JSON (JSON is YAML too). */
  public static AgentDefinition read(String text, String source) {
    JsonNode tree;
    try {
      tree = text == null || text.isBlank() ? MissingNode.getInstance() : YAML.readTree(text);
    } catch (JsonProcessingException e) {
      throw new AgentDefinitionException(source, List.of("not valid YAML or JSON: " + e.getOriginalMessage()));
    }
    return parse(tree, source);
  }

  /**
   * A definition from its tree, validated: unknown fields, missing or malformed ones, schemas that are
   * not JSON Schemas, a route and a model both set.
   *
   * @param source what to name in errors (a file, "request body")
   */
  public static AgentDefinition parse(JsonNode tree, String source) {
    if (tree == null || !tree.isObject()) {
      throw new AgentDefinitionException(source, List.of("must be an object with at least 'name' and "
          + "'system_prompt'"));
    }
    List<String> problems = new ArrayList<>();
    for (Iterator<String> it = tree.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        problems.add("unknown field '" + field + "' (known: " + String.join(", ", FIELDS.stream().sorted().toList())
            + ")");
      }
    }
    String name = text(tree, "name", true, problems);
    if (name != null && !NAME.matcher(name).matches()) {
      problems.add("'name' must be lower-case letters, digits, '_' or '-', starting with a letter, at most 64 "
          + "characters, was '" + name + "'");
    }
    String category = text(tree, "category", false, problems);
    String description = text(tree, "description", false, problems);
    String systemPrompt = text(tree, "system_prompt", true, problems);
    JsonNode inputSchema = schema(tree, "input_schema", problems);
    JsonNode outputSchema = schema(tree, "output_schema", problems);
    List<String> tools = tools(tree, problems);
    String route = text(tree, "route", false, problems);
    String model = text(tree, "model", false, problems);
    if (route != null && model != null) problems.add("'route' and 'model' are exclusive: name one or the other");
    int maxIterations = integer(tree, "max_iterations", DEFAULT_MAX_ITERATIONS, 1, MAX_MAX_ITERATIONS, problems);
    int maxTokens = integer(tree, "max_tokens", DEFAULT_MAX_TOKENS, 1, 200_000, problems);
    Double temperature = null;
    JsonNode t = tree.get("temperature");
    if (t != null && !t.isNull()) {
      if (!t.isNumber() || t.asDouble() < 0 || t.asDouble() > 2) {
        problems.add("'temperature' must be a number from 0 to 2, was " + t);
      } else {
        temperature = t.asDouble();
      }
    }
    if (!problems.isEmpty()) throw new AgentDefinitionException(source(source, name), problems);
    return new AgentDefinition(name, category == null ? DEFAULT_CATEGORY : category,
        description == null ? "" : description, systemPrompt, inputSchema, outputSchema, tools, route, model,
        maxIterations, temperature, maxTokens);
  }

  /** The route calls go through: the named one, or {@code default} unless a model is pinned. */
  public String effectiveRoute() {
    return route == null && model == null ? "default" : route;
  }

  private static String source(String source, String name) {
    if (source == null) return name == null ? "agent definition" : "agent '" + name + "'";
    return name == null ? source : source + " (agent '" + name + "')";
  }

  private static String text(JsonNode tree, String field, boolean required, List<String> problems) {
    JsonNode n = tree.get(field);
    if (n == null || n.isNull()) {
      if (required) problems.add("'" + field + "' is required");
      return null;
    }
    if (!n.isTextual()) {
      problems.add("'" + field + "' must be a string, was " + n.getNodeType().name().toLowerCase());
      return null;
    }
    if (n.asText().isBlank()) {
      if (required) problems.add("'" + field + "' must not be blank");
      return null;
    }
    return n.asText();
  }

  private static JsonNode schema(JsonNode tree, String field, List<String> problems) {
    JsonNode n = tree.get(field);
    if (n == null || n.isNull()) return null;
    if (!n.isObject()) {
      problems.add("'" + field + "' must be a JSON Schema object, was " + n.getNodeType().name().toLowerCase());
      return null;
    }
    try {
      OutputSchemas.validate(n, null); // compiles (and caches) the schema; a value is not the point here
    } catch (IllegalArgumentException e) {
      problems.add("'" + field + "' is " + e.getMessage());
      return null;
    }
    return n.deepCopy();
  }

  private static List<String> tools(JsonNode tree, List<String> problems) {
    JsonNode n = tree.get("tools");
    if (n == null || n.isNull()) return List.of();
    if (!n.isArray()) {
      problems.add("'tools' must be a list of tool names, was " + n.getNodeType().name().toLowerCase());
      return List.of();
    }
    Set<String> names = new LinkedHashSet<>();
    for (int i = 0; i < n.size(); i++) {
      JsonNode tool = n.get(i);
      if (!tool.isTextual() || !TOOL.matcher(tool.asText()).matches()) {
        problems.add("'tools[" + i + "]' must be a tool name (letters, digits, '_', '.', '-'), was " + tool);
      } else if (!names.add(tool.asText())) {
        problems.add("'tools[" + i + "]' repeats '" + tool.asText() + "'");
      }
    }
    return List.copyOf(names);
  }

  private static int integer(JsonNode tree, String field, int fallback, int min, int max, List<String> problems) {
    JsonNode n = tree.get(field);
    if (n == null || n.isNull()) return fallback;
    if (!n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
      problems.add("'" + field + "' must be an integer from " + min + " to " + max + ", was " + n);
      return fallback;
    }
    return n.asInt();
  }
}
