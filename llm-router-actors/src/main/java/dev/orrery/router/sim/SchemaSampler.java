package dev.orrery.router.sim;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Makes a deterministic JSON value that satisfies a JSON Schema, for the simulated provider's answers to
 * nodes with an {@code output_schema}. It covers what workflow authors write (objects, arrays, enums,
 * const, strings with length bounds, bounded numbers, booleans, anyOf/oneOf/allOf); a schema beyond that
 * still gets a value, and the step's own validation reports any mismatch.
 */
final class SchemaSampler {
  private static final int MAX_DEPTH = 8;

  private SchemaSampler() {}

  static Object sample(JsonNode schema, long seed) {
    return sample(schema, new SplittableRandom(seed), 0);
  }

  private static Object sample(JsonNode schema, SplittableRandom random, int depth) {
    if (schema == null || !schema.isObject() || depth > MAX_DEPTH) return null;
    if (schema.has("const")) return plain(schema.get("const"));
    if (schema.has("enum") && schema.get("enum").isArray() && schema.get("enum").size() > 0) {
      JsonNode values = schema.get("enum");
      return plain(values.get(random.nextInt(values.size())));
    }
    for (String combinator : new String[] {"oneOf", "anyOf"}) {
      if (schema.has(combinator) && schema.get(combinator).size() > 0) {
        return sample(schema.get(combinator).get(0), random, depth + 1);
      }
    }
    if (schema.has("allOf") && schema.get("allOf").size() > 0 && !schema.has("type")) {
      return sample(schema.get("allOf").get(0), random, depth + 1);
    }
    String type = typeOf(schema);
    switch (type) {
      case "object":
        return object(schema, random, depth);
      case "array":
        return array(schema, random, depth);
      case "integer":
        return integer(schema, random);
      case "number":
        return number(schema, random);
      case "boolean":
        return random.nextBoolean();
      case "null":
        return null;
      default:
        return string(schema, random);
    }
  }

  private static String typeOf(JsonNode schema) {
    JsonNode type = schema.get("type");
    if (type == null) return schema.has("properties") ? "object" : schema.has("items") ? "array" : "string";
    if (type.isArray()) {
      for (JsonNode t : type) {
        if (!"null".equals(t.asText())) return t.asText();
      }
      return "null";
    }
    return type.asText();
  }

  private static Map<String, Object> object(JsonNode schema, SplittableRandom random, int depth) {
    var out = new LinkedHashMap<String, Object>();
    JsonNode properties = schema.get("properties");
    if (properties != null) {
      properties.fields().forEachRemaining(e -> out.put(e.getKey(), sample(e.getValue(), random, depth + 1)));
    }
    JsonNode required = schema.get("required");
    if (required != null) {
      for (JsonNode name : required) {
        out.putIfAbsent(name.asText(), "value");
      }
    }
    return out;
  }

  private static List<Object> array(JsonNode schema, SplittableRandom random, int depth) {
    int min = schema.path("minItems").asInt(1);
    int max = schema.path("maxItems").asInt(Math.max(min, 3));
    int count = min + random.nextInt(Math.max(1, max - min + 1));
    var out = new ArrayList<Object>(count);
    for (int i = 0; i < count; i++) {
      out.add(sample(schema.get("items"), random, depth + 1));
    }
    return out;
  }

  private static long integer(JsonNode schema, SplittableRandom random) {
    long min = schema.has("minimum") ? (long) Math.ceil(schema.get("minimum").asDouble()) : 0;
    long max = schema.has("maximum") ? (long) Math.floor(schema.get("maximum").asDouble()) : min + 100;
    if (schema.has("exclusiveMinimum")) min = Math.max(min, (long) Math.floor(schema.get("exclusiveMinimum").asDouble()) + 1);
    if (schema.has("exclusiveMaximum")) max = Math.min(max, (long) Math.ceil(schema.get("exclusiveMaximum").asDouble()) - 1);
    return max <= min ? min : min + random.nextLong(max - min + 1);
  }

  private static double number(JsonNode schema, SplittableRandom random) {
    double min = schema.path("minimum").asDouble(schema.path("exclusiveMinimum").asDouble(0.0));
    double max = schema.path("maximum").asDouble(schema.path("exclusiveMaximum").asDouble(min + 1.0));
    double value = min + (max - min) * (0.1 + 0.8 * random.nextDouble());
    return Math.round(value * 1000.0) / 1000.0;
  }

  private static String string(JsonNode schema, SplittableRandom random) {
    int min = schema.path("minLength").asInt(0);
    int max = schema.path("maxLength").asInt(Integer.MAX_VALUE);
    var sb = new StringBuilder("sample-");
    sb.append(Long.toHexString(random.nextLong()), 0, 8);
    while (sb.length() < min) sb.append('x');
    return sb.length() > max ? sb.substring(0, max) : sb.toString();
  }

  private static Object plain(JsonNode node) {
    if (node.isTextual()) return node.asText();
    if (node.isIntegralNumber()) return node.asLong();
    if (node.isNumber()) return node.asDouble();
    if (node.isBoolean()) return node.asBoolean();
    if (node.isNull()) return null;
    return node.toString();
  }
}
