package dev.orrery.core.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JsonValues, RetryPolicy, OutputSchemas and the small records. */
class SupportingValuesTest {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  @Test
  void freezeKeepsOrderAndNullsAndCannotBeChanged() {
    var source = new LinkedHashMap<String, Object>();
    source.put("z", 1);
    source.put("a", null);
    source.put("list", Arrays.asList(1.5f, null, new BigDecimal("7")));
    @SuppressWarnings("unchecked")
    Map<String, Object> frozen = (Map<String, Object>) JsonValues.freeze(source);
    assertEquals(List.of("z", "a", "list"), List.copyOf(frozen.keySet()));
    assertEquals(1L, frozen.get("z"));
    assertTrue(frozen.containsKey("a"));
    assertEquals(Arrays.asList(1.5, null, 7L), frozen.get("list"));
    assertThrows(UnsupportedOperationException.class, () -> frozen.put("b", 2));
    source.put("z", 2);
    assertEquals(1L, frozen.get("z"), "a copy, not a view");
  }

  @Test
  void treesAndPlainValuesConvertBothWays() throws Exception {
    JsonNode tree = MAPPER.readTree("{\"s\": \"x\", \"n\": 3, \"d\": 2.5, \"b\": true, \"nil\": null, \"arr\": [1, {\"k\": []}]}");
    Object plain = JsonValues.toPlain(tree);
    assertEquals(3L, ((Map<?, ?>) plain).get("n"));
    assertEquals(tree.toString(), JsonValues.toTree(plain).toString());
    assertEquals("{\"s\":\"x\",\"n\":3,\"d\":2.5,\"b\":true,\"nil\":null,\"arr\":[1,{\"k\":[]}]}", JsonValues.toJson(plain));
    assertEquals(plain, JsonValues.freeze(tree));
  }

  @Test
  void backoffGrowsExponentiallyUpToTheCapWithEqualJitter() {
    RetryPolicy r = new RetryPolicy(5, 200, 1000, 2.0);
    assertEquals(0, r.backoffBeforeAttempt(1, 0.99));
    assertEquals(199, r.backoffBeforeAttempt(2, 0.999));
    assertEquals(150, r.backoffBeforeAttempt(2, 0.5), "half of 200 fixed, half jittered");
    assertEquals(300, r.backoffBeforeAttempt(3, 0.5), "400 * 0.75");
    assertEquals(600, r.backoffBeforeAttempt(4, 0.5), "800 * 0.75");
    assertEquals(750, r.backoffBeforeAttempt(5, 0.5), "capped at 1000, then * 0.75");
    assertEquals(750, r.backoffBeforeAttempt(Integer.MAX_VALUE, 0.5), "no overflow");
    assertEquals(200, r.backoffBeforeAttempt(3, 0.0), "never less than half the backoff");
    assertThrows(IllegalArgumentException.class, () -> r.backoffBeforeAttempt(2, 1.0));
    assertEquals(r.backoffBeforeAttempt(4, 0.37), r.backoffBeforeAttempt(4, 0.37), "pure");
  }

  @Test
  void outputsAreValidatedAgainstTheirSchema() throws Exception {
    JsonNode schema = MAPPER.readTree(
        "{\"type\": \"object\", \"properties\": {\"label\": {\"enum\": [\"positive\", \"negative\"]}}, \"required\": [\"label\"]}");
    assertEquals(List.of(), OutputSchemas.validate(schema, Map.of("label", "positive")));
    List<String> wrong = OutputSchemas.validate(schema, Map.of("label", "meh"));
    assertEquals(1, wrong.size());
    assertTrue(wrong.get(0).startsWith("$.label"), wrong.get(0));
    assertFalse(OutputSchemas.validate(schema, Map.of()).isEmpty());
    assertFalse(OutputSchemas.validate(schema, "just text").isEmpty());
    assertThrows(IllegalArgumentException.class, () -> OutputSchemas.validate(MAPPER.readTree("{\"type\": 5}"), "x"));
  }

  @Test
  void nodeResultsAreFrozenAndOnlySucceededOrSkipped() {
    var out = new LinkedHashMap<String, Object>();
    out.put("n", 1);
    NodeResult r = NodeResult.succeeded(out);
    out.put("n", 2);
    assertEquals(Map.of("n", 1L), r.output());
    assertThrows(IllegalArgumentException.class, () -> new NodeResult("FAILED", null));
  }

  @Test
  void aProblemReadsAsPathMessageAndCode() {
    assertEquals("nodes[a].when: bad [INVALID_CONDITION]", new Problem("nodes[a].when", "INVALID_CONDITION", "bad").toString());
    assertEquals("bad [PARSE_ERROR]", new Problem(null, "PARSE_ERROR", "bad").toString());
  }
}
