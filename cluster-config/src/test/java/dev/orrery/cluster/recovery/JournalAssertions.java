package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.TreeMap;

/** What a recovered run's journal must show: each step's success persisted exactly once. */
final class JournalAssertions {
  private JournalAssertions() {}

  static Map<String, Integer> successesByStep(JsonNode events) {
    Map<String, Integer> counts = new TreeMap<>();
    for (JsonNode e : events) {
      if (!e.get("type").asText().equals("StepSucceeded")) continue;
      JsonNode item = e.at("/data/item");
      String step = e.get("node_id").asText() + (item.isMissingNode() || item.isNull() ? "" : "[" + item.asInt() + "]");
      counts.merge(step, 1, Integer::sum);
    }
    return counts;
  }

  static void assertEachStepSucceededOnce(JsonNode events, int expectedSteps) {
    Map<String, Integer> counts = successesByStep(events);
    assertEquals(expectedSteps, counts.size(), "every step succeeded: " + counts);
    counts.forEach((step, n) -> assertEquals(1, n, "step " + step + " persisted once: " + counts));
    long accepted = 0;
    for (JsonNode e : events) if (e.get("type").asText().equals("RunAccepted")) accepted++;
    assertEquals(1, accepted, "accepted once");
  }

  static long count(JsonNode events, String type) {
    long n = 0;
    for (JsonNode e : events) if (e.get("type").asText().equals(type)) n++;
    return n;
  }
}
