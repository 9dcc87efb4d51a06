package dev.orrery.cluster.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.SharedPostgres.TestDatabase;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SharedPostgres.class)
class SchemaMigrationTest {

  /** The journal's tables (migration 1), the usage read side's and audit log's (2), the runs list's (3). */
  private static final List<String> TABLES = List.of("durable_state", "event_journal", "event_tag", "orrery_audit",
      "orrery_projection_offset", "orrery_runs", "orrery_usage", "snapshot");
  private static final List<String> JOURNAL_INDEXES =
      List.of("event_journal_ordering_idx", "state_global_offset_idx", "state_tag_idx");

  @Test
  void schemaAppliesTwiceAndCreatesTheJournalTables() throws Exception {
    TestDatabase db = SharedPostgres.newDatabase(); // applied once already
    SchemaMigration.apply(db.jdbcUrl(), db.user(), db.password());
    SchemaMigration.apply(db.jdbcUrl(), db.user(), db.password());

    assertEquals(TABLES, strings(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        + "AND tablename <> 'orrery_schema_version' ORDER BY 1"));
    assertEquals(JOURNAL_INDEXES, strings(db, "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        + "WHERE c.relname IN ('event_journal_ordering_idx', 'state_global_offset_idx', 'state_tag_idx') "
        + "AND i.indisvalid ORDER BY 1"));
    assertEquals(List.of("1", "2", "3"), strings(db, "SELECT version FROM orrery_schema_version ORDER BY version"));
  }

  @Test
  void everyStatementIsRerunnableOnAnExistingSchema(TestDatabase db) throws Exception {
    // As after a node died between the last statement and the version row, or when an operator created the
    // tables with the plugin's own script: the whole migration runs again over existing objects.
    execute(db, "DELETE FROM orrery_schema_version");
    SchemaMigration.apply(db.jdbcUrl(), db.user(), db.password());
    assertEquals(List.of("1", "2", "3"), strings(db, "SELECT version FROM orrery_schema_version ORDER BY version"));
  }

  @Test
  void anInvalidIndexLeftByAnInterruptedConcurrentBuildIsRebuilt(TestDatabase db) throws Exception {
    execute(db, "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'public.state_tag_idx'::regclass",
        "DELETE FROM orrery_schema_version");
    SchemaMigration.apply(db.jdbcUrl(), db.user(), db.password());
    assertEquals(List.of("t"), strings(db,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.state_tag_idx'::regclass"));
  }

  @Test
  void aFailingStatementIsReportedWithItsSqlAndNothingIsRecorded(TestDatabase db) throws Exception {
    List<SchemaMigration.Migration> migrations = new ArrayList<>(SchemaMigration.migrations());
    int broken = migrations.size() + 1;
    migrations.add(new SchemaMigration.Migration(broken, "broken on purpose",
        List.of("CREATE TABLE IF NOT EXISTS fine (id INTEGER)", "CREATE TABLE IF NOT EXISTS broken (id NOSUCHTYPE)")));
    SchemaMigration.MigrationException e = assertThrows(SchemaMigration.MigrationException.class,
        () -> SchemaMigration.apply(db::connect, migrations));
    assertEquals(broken, e.version());
    assertEquals("CREATE TABLE IF NOT EXISTS broken (id NOSUCHTYPE)", e.statement());
    assertTrue(e.getMessage().contains("statement 2 of 2") && e.getMessage().contains("NOSUCHTYPE"), e.getMessage());
    List<String> shipped = new ArrayList<>();
    for (int v = 1; v < broken; v++) shipped.add(String.valueOf(v));
    assertEquals(shipped, strings(db, "SELECT version FROM orrery_schema_version ORDER BY version"));
  }

  @Test
  void theShippedScriptIsSplitAndMadeRerunnable() {
    List<String> statements = SchemaMigration.migrations().get(0).statements();
    assertEquals(7, statements.size());
    assertTrue(statements.stream().allMatch(s -> s.matches("(?s)CREATE (TABLE|UNIQUE INDEX|INDEX CONCURRENTLY) IF NOT EXISTS .*")),
        String.join("\n", statements));
    assertEquals("CREATE INDEX CONCURRENTLY IF NOT EXISTS state_tag_idx on public.durable_state (tag)", statements.get(5));
  }

  @Test
  void splitterKeepsQuotedSemicolonsAndDropsComments() {
    assertEquals(List.of("SELECT 'a;b'", "SELECT \"x;y\"", "SELECT 2"),
        SchemaMigration.splitStatements("-- first;\nSELECT 'a;b';\n/* two; */ SELECT \"x;y\";SELECT 2;\n"));
    assertThrows(IllegalArgumentException.class, () -> SchemaMigration.splitStatements("DO $$ BEGIN END $$;"));
    assertThrows(IllegalArgumentException.class, () -> SchemaMigration.rerunnable(List.of("CREATE INDEX ON t (a)")));
    assertThrows(IllegalArgumentException.class, () -> SchemaMigration.rerunnable(List.of("DROP TABLE t")));
  }

  @Test
  void migrationsMustBeNumberedInOrder(TestDatabase db) {
    List<SchemaMigration.Migration> gap = List.of(SchemaMigration.migrations().get(0),
        new SchemaMigration.Migration(3, "skips 2", List.of("SELECT 1")));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> SchemaMigration.apply(db::connect, gap));
    assertTrue(e.getMessage().contains("holds version 3"), e.getMessage());
  }

  private static List<String> strings(TestDatabase db, String sql) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      List<String> values = new ArrayList<>();
      while (rs.next()) {
        values.add(rs.getString(1));
      }
      return values;
    }
  }

  private static void execute(TestDatabase db, String... statements) throws SQLException {
    try (Connection c = db.connect(); Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    }
  }
}
