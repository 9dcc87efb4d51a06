package dev.orrery.edge;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.workflow.JsonValues;
import dev.orrery.core.workflow.WorkflowCatalog;
import dev.orrery.core.workflow.WorkflowException;
import dev.orrery.core.workflow.WorkflowParser;
import dev.orrery.core.workflow.WorkflowSpec;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The body of {@code POST /api/v1/runs}, as JSON or YAML: {@code workflow} (an object, or a string of
 * YAML/JSON) or {@code workflow_name}, plus {@code inputs} and an optional {@code token_budget}.
 */
record SubmitRequest(WorkflowSpec spec, Map<String, Object> inputs) {
  private static final Set<String> FIELDS = Set.of("workflow", "workflow_name", "inputs", "token_budget");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  static SubmitRequest parse(String body, boolean yaml, ObjectMapper json, WorkflowCatalog catalog) {
    JsonNode tree;
    try {
      tree = yaml ? YAML.readTree(body) : json.readTree(body);
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new ApiError(ErrorCode.INVALID_REQUEST,
          "request body is not valid " + (yaml ? "YAML" : "JSON") + where + ": " + e.getOriginalMessage());
    }
    if (tree == null || !tree.isObject()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "request body must be an object with 'workflow' or 'workflow_name'");
    }
    tree.fieldNames().forEachRemaining(name -> {
      if (!FIELDS.contains(name)) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "unknown field '" + name + "'; expected one of " + FIELDS);
      }
    });
    WorkflowSpec spec = specOf(tree, catalog);
    JsonNode inputs = tree.path("inputs");
    if (!inputs.isMissingNode() && !inputs.isNull() && !inputs.isObject()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "'inputs' must be an object");
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> values = inputs.isObject() ? (Map<String, Object>) JsonValues.toPlain(inputs) : Map.of();
    JsonNode budget = tree.path("token_budget");
    if (!budget.isMissingNode() && !budget.isNull()) {
      if (!budget.isIntegralNumber() || !budget.canConvertToLong() || budget.asLong() <= 0) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "'token_budget' must be a positive integer, was " + budget);
      }
      spec = spec.withTokenBudget(budget.asLong());
    }
    return new SubmitRequest(spec, values);
  }

  private static WorkflowSpec specOf(JsonNode tree, WorkflowCatalog catalog) {
    JsonNode workflow = tree.path("workflow");
    JsonNode name = tree.path("workflow_name");
    if (!workflow.isMissingNode() && !name.isMissingNode()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "give either 'workflow' or 'workflow_name', not both");
    }
    try {
      if (workflow.isObject()) return WorkflowParser.fromTree(workflow);
      if (workflow.isTextual()) return WorkflowParser.parse(workflow.asText());
      if (!workflow.isMissingNode()) {
        throw new ApiError(ErrorCode.INVALID_REQUEST, "'workflow' must be an object or a YAML/JSON string");
      }
    } catch (WorkflowException e) {
      throw invalidWorkflow(e);
    }
    if (!name.isTextual()) {
      throw new ApiError(ErrorCode.INVALID_REQUEST, "the body needs 'workflow' (a spec) or 'workflow_name'");
    }
    return catalog.find(name.asText()).orElseThrow(() -> new ApiError(ErrorCode.NOT_FOUND,
        "no bundled workflow named '" + name.asText() + "'",
        Map.of("available", catalog.all().stream().map(WorkflowSpec::name).toList())));
  }

  static ApiError invalidWorkflow(WorkflowException e) {
    List<Map<String, String>> problems = e.problems().stream()
        .map(p -> Map.of("path", p.path(), "code", p.code(), "message", p.message()))
        .toList();
    return new ApiError(ErrorCode.INVALID_REQUEST,
        "the workflow is invalid (" + problems.size() + (problems.size() == 1 ? " problem)" : " problems)"),
        Map.of("problems", problems));
  }

  /** A stable digest of what was asked, to tell a retried submit from a different one under the same key. */
  String digest(ObjectMapper json) {
    // Through plain maps so that ORDER_MAP_ENTRIES_BY_KEYS sorts every level: key order in the body
    // must not make a retried request look different.
    var canonical = Map.of("spec", json.convertValue(spec, Map.class), "inputs", inputs);
    try {
      byte[] bytes = json.writer().with(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS).writeValueAsBytes(canonical);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("digest of a parsed request", e);
    }
  }
}
