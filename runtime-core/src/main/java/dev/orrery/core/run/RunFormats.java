package dev.orrery.core.run;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.core.run.migration.RunAcceptedMigration;
import dev.orrery.core.run.migration.RunStateMigration;
import java.util.Map;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * The format version of each stored run class (every {@link RunEvent} and the snapshot {@link RunState}),
 * and the migrations that read the older ones. Pekko's serializer has the same migrations from
 * runtime-core's {@code reference.conf} (it writes the version into each stored manifest and migrates what
 * it reads); this table serves what reads run events outside it: the version in a journal listing
 * ({@code GET /runs/{id}/journal}) and reading such a listing back ({@link RunReplay#eventOf}). A test keeps
 * the two in agreement. The rules for changing a format are in docs/replay.md.
 */
public final class RunFormats {
  /** The classes past their first format; every other run event is at version 1. */
  private static final Map<Class<?>, JacksonMigration> CHANGED = Map.of(
      RunEvent.RunAccepted.class, new RunAcceptedMigration(),
      RunState.class, new RunStateMigration());

  private RunFormats() {}

  /** The version this code writes of {@code type}. */
  public static int version(Class<?> type) {
    JacksonMigration m = CHANGED.get(type);
    return m == null ? 1 : m.currentVersion();
  }

  /**
   * {@code json} of {@code type} as written at {@code fromVersion}, in this code's format (a copy; the
   * argument is not changed).
   *
   * @throws IllegalArgumentException when it is newer than this code reads
   */
  public static JsonNode upgrade(Class<?> type, int fromVersion, JsonNode json) {
    int current = version(type);
    if (fromVersion > current) {
      throw new IllegalArgumentException(type.getSimpleName() + " of version " + fromVersion
          + " was written by newer code; this code reads up to version " + current);
    }
    if (fromVersion == current) return json;
    return CHANGED.get(type).transform(fromVersion, json.deepCopy());
  }
}
