package dev.orrery.core.run.migration;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * A class still in its first format. Registered for every run event that never changed, so each one's
 * stored manifest carries its version ({@code #1}) like the changed ones; a manifest without a version
 * (written before versions were written) is version 1 too. The first change of such a class replaces
 * this with a migration of its own.
 */
public final class FirstVersion extends JacksonMigration {

  @Override
  public int currentVersion() {
    return 1;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
