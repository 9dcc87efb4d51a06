package dev.orrery.core.workflow;

import java.util.List;
import java.util.Map;

/** The JSON types an input can declare, checked against plain Java values. */
final class InputTypes {
  private InputTypes() {}

  static boolean matches(String type, Object value) {
    switch (type) {
      case "string":
        return value instanceof String;
      case "number":
        return value instanceof Long || value instanceof Double;
      case "integer":
        // JSON Schema counts 3.0 as an integer; so do we.
        return value instanceof Long || value instanceof Double && isWhole((Double) value);
      case "boolean":
        return value instanceof Boolean;
      case "array":
        return value instanceof List;
      case "object":
        return value instanceof Map;
      case InputSpec.ANY:
        return true;
      default:
        return false;
    }
  }

  static String typeOf(Object value) {
    if (value == null) return "null";
    if (value instanceof String) return "string";
    if (value instanceof Long) return "integer";
    if (value instanceof Double) return "number";
    if (value instanceof Boolean) return "boolean";
    if (value instanceof List) return "array";
    if (value instanceof Map) return "object";
    return value.getClass().getSimpleName();
  }

  /** A short rendering of a value for an error message. */
  static String describe(Object value) {
    String json = JsonValues.toJson(value);
    if (json.length() > 60) json = json.substring(0, 57) + "...";
    return json + " (" + typeOf(value) + ")";
  }

  private static boolean isWhole(double d) {
    return !Double.isInfinite(d) && d == Math.rint(d);
  }
}
