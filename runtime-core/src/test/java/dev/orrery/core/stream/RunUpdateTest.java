package dev.orrery.core.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** A stream message reads back as it was written: that is how it crosses to a subscriber on another node. */
class RunUpdateTest {
  private final ObjectMapper json = new ObjectMapper().findAndRegisterModules();

  @Test
  void aDeltaKeepsItsEphemeralFlagThroughJson() throws Exception {
    RunUpdate delta = RunUpdate.delta("run-1", "s1", 2, 1, "word", Instant.parse("2026-11-23T10:00:00Z"), json);
    RunUpdate back = json.readValue(json.writeValueAsString(delta), RunUpdate.class);
    assertEquals(delta, back);
    assertEquals(Boolean.TRUE, back.ephemeral());
    assertTrue(json.readTree(json.writeValueAsString(back)).path("ephemeral").asBoolean(), "written with the flag");
  }

  @Test
  void aPersistedEventIsWrittenWithoutTheFlag() throws Exception {
    RunUpdate event = new RunUpdate(3L, "StepScheduled", 1, "run-1", "s1", Instant.parse("2026-11-23T10:00:00Z"), null,
        json.createObjectNode().put("attempt", 1));
    String text = json.writeValueAsString(event);
    assertFalse(json.readTree(text).has("ephemeral"), text);
    assertEquals(event, json.readValue(text, RunUpdate.class));
  }
}
