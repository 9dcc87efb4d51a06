package dev.orrery.core.workflow;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a workflow from YAML or JSON text, or from a tree already parsed (a spec inside an HTTP body).
 * Everything that is not well-formed, or does not fit the model (an unknown property, a list where a
 * number belongs), is one {@code PARSE_ERROR} problem located by path and, when known, line and column.
 * Whether the workflow makes sense is {@link CompiledWorkflow#compile}'s question.
 */
public final class WorkflowParser {
  public static final String PARSE_ERROR = "PARSE_ERROR";

  private static final ObjectMapper JSON = configure(JsonMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build());
  private static final ObjectMapper YAML = configure(YAMLMapper.builder()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .build());

  private WorkflowParser() {}

  private static ObjectMapper configure(ObjectMapper mapper) {
    return mapper
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        // "depends_on: summarize" reads as a list of one, as YAML writers expect.
        .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY);
  }

  /** Parses JSON when the first non-blank character is <code>{</code>, YAML otherwise. */
  public static WorkflowSpec parse(String text) {
    if (text == null || text.isBlank()) throw new WorkflowException(new Problem("", PARSE_ERROR, "the workflow is empty"));
    ObjectMapper mapper = text.strip().startsWith("{") ? JSON : YAML;
    JsonNode tree;
    try {
      tree = mapper.readTree(text);
    } catch (JsonProcessingException e) {
      throw new WorkflowException(new Problem(pathOf(e), PARSE_ERROR, describe(e)));
    }
    requireObject(tree);
    try {
      // Bound from the text rather than the tree so that binding errors keep their line and column.
      return mapper.readValue(text, WorkflowSpec.class);
    } catch (JsonProcessingException e) {
      throw new WorkflowException(new Problem(pathOf(e), PARSE_ERROR, describe(e)));
    }
  }

  /** Binds a spec that is already a tree, e.g. the {@code workflow} field of a request body. */
  public static WorkflowSpec fromTree(JsonNode tree) {
    requireObject(tree);
    try {
      return JSON.treeToValue(tree, WorkflowSpec.class);
    } catch (JsonProcessingException e) {
      throw new WorkflowException(new Problem(pathOf(e), PARSE_ERROR, describe(e)));
    }
  }

  /** Parses a workflow bundled on the classpath, e.g. {@code workflows/hello.yaml}. */
  public static WorkflowSpec fromResource(String classpathResource) {
    String name = classpathResource.startsWith("/") ? classpathResource.substring(1) : classpathResource;
    ClassLoader loader = Thread.currentThread().getContextClassLoader();
    if (loader == null) loader = WorkflowParser.class.getClassLoader();
    try (InputStream in = loader.getResourceAsStream(name)) {
      if (in == null) {
        throw new WorkflowException(new Problem(name, PARSE_ERROR, "no workflow resource '" + name + "' on the classpath"));
      }
      return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new WorkflowException(new Problem(name, PARSE_ERROR, "cannot read '" + name + "': " + e.getMessage()));
    }
  }

  private static void requireObject(JsonNode tree) {
    if (tree == null || tree.isMissingNode() || tree.isNull()) {
      throw new WorkflowException(new Problem("", PARSE_ERROR, "the workflow is empty"));
    }
    if (!tree.isObject()) {
      throw new WorkflowException(new Problem("", PARSE_ERROR,
          "a workflow must be an object with name and nodes, not " + tree.getNodeType().name().toLowerCase()));
    }
  }

  private static String describe(JsonProcessingException e) {
    String message;
    if (e instanceof UnrecognizedPropertyException) {
      var u = (UnrecognizedPropertyException) e;
      String parent = parentPath(u);
      message = "unknown property '" + u.getPropertyName() + "'" + (parent.isEmpty() ? "" : " in " + parent)
          + "; expected one of: " + u.getKnownPropertyIds().stream().map(String::valueOf).sorted()
              .collect(Collectors.joining(", "));
    } else if (e instanceof InvalidFormatException) {
      var f = (InvalidFormatException) e;
      message = "expected " + friendly(f.getTargetType()) + ", got " + JsonValues.toJson(f.getValue());
    } else if (e instanceof MismatchedInputException && ((MismatchedInputException) e).getTargetType() != null
        && String.valueOf(e.getOriginalMessage()).startsWith("Cannot")) {
      message = "expected " + friendly(((MismatchedInputException) e).getTargetType());
    } else if (e instanceof ValueInstantiationException && e.getCause() != null) {
      message = e.getCause().getMessage(); // our own compact constructors' words
    } else {
      message = clean(e.getOriginalMessage());
    }
    JsonLocation at = e.getLocation();
    if (at != null && at.getLineNr() > 0 && !message.contains("(line ")) {
      message += " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
    }
    return message;
  }

  private static String friendly(Class<?> type) {
    if (type == null) return "another value";
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) return "an integer";
    if (type == Double.class || type == double.class) return "a number";
    if (type == Boolean.class || type == boolean.class) return "true or false";
    if (type == String.class) return "a string";
    if (Collection.class.isAssignableFrom(type)) return "a list";
    if (Map.class.isAssignableFrom(type) || type.isRecord()) return "an object";
    return type.getSimpleName();
  }

  private static final Pattern SOURCE = Pattern.compile("\\[Source: .*?; line: (\\d+), column: (\\d+)\\]");
  private static final Pattern YAML_MARK = Pattern.compile("^ in '[^']*', line (\\d+), column (\\d+):?$");

  /**
   * Parser messages without their noise: Jackson's source descriptions, and SnakeYAML's multi-line
   * snippets, whose marks become {@code (line L, column C)}.
   */
  private static String clean(String original) {
    if (original == null) return "malformed workflow";
    var sb = new StringBuilder();
    for (String line : original.split("\n")) {
      Matcher mark = YAML_MARK.matcher(line);
      if (mark.matches()) {
        sb.append(" (line ").append(mark.group(1)).append(", column ").append(mark.group(2)).append(')');
      } else if (!line.isBlank() && !Character.isWhitespace(line.charAt(0))) {
        if (sb.length() > 0) sb.append("; ");
        sb.append(line.strip());
      }
    }
    return SOURCE.matcher(sb).replaceAll("line $1, column $2");
  }

  private static String pathOf(JsonProcessingException e) {
    return e instanceof JsonMappingException ? path(((JsonMappingException) e).getPath()) : "";
  }

  private static String parentPath(JsonMappingException e) {
    List<JsonMappingException.Reference> refs = e.getPath();
    return refs.isEmpty() ? "" : path(refs.subList(0, refs.size() - 1));
  }

  /** A Jackson reference chain as {@code nodes[0].retry.max_attempts}. */
  private static String path(List<JsonMappingException.Reference> refs) {
    var sb = new StringBuilder();
    for (JsonMappingException.Reference r : refs) {
      if (r.getFieldName() != null) {
        if (sb.length() > 0) sb.append('.');
        sb.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.toString();
  }
}
