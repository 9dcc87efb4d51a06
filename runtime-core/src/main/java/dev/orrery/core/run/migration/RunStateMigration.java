package dev.orrery.core.run.migration;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * {@code RunState}, the run's snapshot.
 *
 * <ul>
 *   <li>Version 1: the state without pins.
 *   <li>Version 2 (run pinning): adds {@code pins}, as {@code RunAccepted} version 2 records them.
 * </ul>
 *
 * A version-1 snapshot is of a run accepted before runs were pinned: {@code pins: {recorded: false}}.
 */
public final class RunStateMigration extends JacksonMigration {
  public static final int VERSION = 2;

  @Override
  public int currentVersion() {
    return VERSION;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    ObjectNode state = (ObjectNode) json;
    if (fromVersion < 2 && !state.has("pins")) state.set("pins", RunAcceptedMigration.notPinned(state));
    return state;
  }
}
