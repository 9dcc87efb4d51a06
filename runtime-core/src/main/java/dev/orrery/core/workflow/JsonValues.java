package dev.orrery.core.workflow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Conversions between Jackson trees and the plain Java values that flow through a run (inputs, node
 * outputs, map items): {@code Map<String,Object>} (insertion-ordered), {@code List}, {@code String},
 * {@code Long}, {@code Double}, {@code Boolean} and {@code null}. Numbers are narrowed to Long and Double
 * because CEL only computes with those.
 */
public final class JsonValues {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private JsonValues() {}

  /** A tree as plain, unmodifiable Java values; JSON null becomes {@code null}. */
  public static Object toPlain(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) return null;
    if (node.isObject()) {
      var map = new LinkedHashMap<String, Object>();
      Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
      while (fields.hasNext()) {
        var e = fields.next();
        map.put(e.getKey(), toPlain(e.getValue()));
      }
      return Collections.unmodifiableMap(map);
    }
    if (node.isArray()) {
      var list = new ArrayList<Object>(node.size());
      for (JsonNode item : node) list.add(toPlain(item));
      return Collections.unmodifiableList(list);
    }
    if (node.isTextual()) return node.textValue();
    if (node.isBoolean()) return node.booleanValue();
    if (node.isIntegralNumber()) return node.canConvertToLong() ? (Object) node.longValue() : (Object) node.doubleValue();
    if (node.isNumber()) return node.doubleValue();
    if (node.isBinary()) return node.asText(); // base64, as JSON writes it
    if (node.isPojo()) return freeze(MAPPER.convertValue(node, Object.class));
    return node.asText();
  }

  /** A plain value (or anything Jackson can serialize) as a tree. */
  public static JsonNode toTree(Object value) {
    if (value == null) return JsonNodeFactory.instance.nullNode();
    if (value instanceof JsonNode) return (JsonNode) value;
    return MAPPER.valueToTree(value);
  }

  /** Compact JSON text of a value. */
  public static String toJson(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("value has no JSON form: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * A deep, unmodifiable copy in the plain form: maps keep their order and their null values (which
   * {@code Map.copyOf} would reject), numbers become Long or Double, trees and other objects are
   * converted through their JSON form. Already-plain values are copied again, which keeps the contract
   * simple: whatever comes back can be shared.
   */
  public static Object freeze(Object value) {
    if (value == null || value instanceof String || value instanceof Boolean || value instanceof Long
        || value instanceof Double) {
      return value;
    }
    if (value instanceof Map) {
      var map = new LinkedHashMap<String, Object>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        map.put(String.valueOf(e.getKey()), freeze(e.getValue()));
      }
      return Collections.unmodifiableMap(map);
    }
    if (value instanceof Collection) {
      var list = new ArrayList<Object>(((Collection<?>) value).size());
      for (Object item : (Collection<?>) value) list.add(freeze(item));
      return Collections.unmodifiableList(list);
    }
    if (value instanceof Number) return normaliseNumber((Number) value);
    if (value instanceof CharSequence || value instanceof Character) return value.toString();
    if (value instanceof Enum) return ((Enum<?>) value).name();
    if (value instanceof JsonNode) return toPlain((JsonNode) value);
    if (value instanceof Object[]) return freeze(Arrays.asList((Object[]) value));
    return toPlain(MAPPER.valueToTree(value));
  }

  /** {@link #freeze} for a map, typed. */
  @SuppressWarnings("unchecked")
  public static Map<String, Object> freezeMap(Map<String, ?> map) {
    if (map == null) return Collections.emptyMap();
    return (Map<String, Object>) freeze(map);
  }

  private static Object normaliseNumber(Number n) {
    if (n instanceof Integer || n instanceof Short || n instanceof Byte) return n.longValue();
    if (n instanceof Float) return Double.parseDouble(n.toString()); // 0.1f stays 0.1, not 0.10000000149
    if (n instanceof BigInteger) {
      BigInteger b = (BigInteger) n;
      return b.bitLength() < 64 ? (Object) b.longValue() : (Object) b.doubleValue();
    }
    if (n instanceof BigDecimal) {
      BigDecimal d = (BigDecimal) n;
      try {
        return d.scale() <= 0 ? (Object) d.longValueExact() : (Object) d.doubleValue();
      } catch (ArithmeticException tooBig) {
        return d.doubleValue();
      }
    }
    return n.doubleValue() == n.longValue() ? (Object) n.longValue() : (Object) n.doubleValue();
  }
}
