package dev.orrery.cluster.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatabaseSettingsTest {

  private static final Path DEFAULT_DIR = Path.of("orrery-data");

  @Test
  void noVariablesMeansTheEmbeddedServerInTheDefaultDirectoryOnAFreePort() {
    DatabaseSettings s = DatabaseSettings.fromEnvironment(Map.of(), DEFAULT_DIR);
    assertTrue(s.embedded());
    assertEquals(DEFAULT_DIR, s.dataDirectory());
    assertEquals(0, s.embeddedPort());
    assertNull(s.user());
  }

  @Test
  void dataDirectoryAndPortComeFromTheEnvironment() {
    DatabaseSettings s = DatabaseSettings.fromEnvironment(
        Map.of("ORRERY_DATA_DIR", "/var/lib/orrery", "ORRERY_DB_PORT", "15432"), DEFAULT_DIR);
    assertEquals(Path.of("/var/lib/orrery"), s.dataDirectory());
    assertEquals(15432, s.embeddedPort());
  }

  @Test
  void anUrlSwitchesToTheExternalServer() {
    DatabaseSettings s = DatabaseSettings.fromEnvironment(Map.of(
        "ORRERY_DB_URL", "jdbc:postgresql://db.internal:5432/orrery",
        "ORRERY_DB_USER", "orrery",
        "ORRERY_DB_PASSWORD", "s3cret"), DEFAULT_DIR);
    assertFalse(s.embedded());
    assertEquals("jdbc:postgresql://db.internal:5432/orrery", s.url());
    assertEquals("orrery", s.user());
    assertEquals("s3cret", s.password());
    assertFalse(s.toString().contains("s3cret"), s.toString());
  }

  @Test
  void emptyVariablesCountAsUnset() {
    DatabaseSettings s = DatabaseSettings.fromEnvironment(Map.of(
        "ORRERY_DB_URL", "", "ORRERY_DB_USER", " ", "ORRERY_DB_PASSWORD", "", "ORRERY_DB_PORT", ""), DEFAULT_DIR);
    assertTrue(s.embedded());
    assertNull(s.password());
  }

  @Test
  void badValuesAreRejectedNamingTheValue() {
    assertMessage("was 'abc'", Map.of("ORRERY_DB_PORT", "abc"));
    assertMessage("was 70000", Map.of("ORRERY_DB_PORT", "70000"));
    assertMessage("was 'mysql://x'", Map.of("ORRERY_DB_URL", "mysql://x", "ORRERY_DB_USER", "u"));
    assertMessage("was null", Map.of("ORRERY_DB_URL", "jdbc:postgresql://x/y"));
    assertMessage("user was 'orrery'", Map.of("ORRERY_DB_USER", "orrery"));
    assertMessage("the port was 5433",
        Map.of("ORRERY_DB_URL", "jdbc:postgresql://x/y", "ORRERY_DB_USER", "u", "ORRERY_DB_PORT", "5433"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DatabaseSettings(null, null, null, null, 0));
    assertTrue(e.getMessage().contains("was null"), e.getMessage());
  }

  private static void assertMessage(String expected, Map<String, String> env) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> DatabaseSettings.fromEnvironment(env, DEFAULT_DIR));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
