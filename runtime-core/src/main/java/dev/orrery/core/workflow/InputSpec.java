package dev.orrery.core.workflow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/**
 * One declared input of a workflow.
 *
 * @param type a JSON type: {@code string}, {@code number}, {@code integer}, {@code boolean},
 *     {@code array}, {@code object}, or {@code any} (the default)
 * @param required whether a run must supply it; defaults to true unless a default value is given
 * @param defaultValue the value used when a run does not supply one (JSON {@code default})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record InputSpec(
    @JsonProperty("type") String type,
    @JsonProperty("required") Boolean required,
    @JsonProperty("default") Object defaultValue,
    @JsonProperty("description") String description) {

  public static final String ANY = "any";
  public static final List<String> TYPES =
      List.of("string", "number", "integer", "boolean", "array", "object", ANY);

  public InputSpec {
    if (type == null) type = ANY;
    defaultValue = JsonValues.freeze(defaultValue);
    if (required == null) required = defaultValue == null;
  }

  public static InputSpec of(String type) {
    return new InputSpec(type, null, null, null);
  }
}
