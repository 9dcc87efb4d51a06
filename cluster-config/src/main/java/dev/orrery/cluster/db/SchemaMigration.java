package dev.orrery.cluster.db;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brings a database to the schema this version of Orrery needs: an ordered list of numbered migrations,
 * each applied once and recorded in {@code orrery_schema_version}. Migration 1 is pekko-persistence-jdbc's
 * own PostgreSQL schema; our read-side tables come as later migrations.
 *
 * <p>Every statement runs on its own with autocommit on (PostgreSQL refuses {@code CREATE INDEX
 * CONCURRENTLY} inside a transaction or a multi-statement pipeline) and is written to be re-runnable: a
 * migration interrupted half-way (the node killed during its first start) is simply run again, and so is
 * one whose tables already exist because an operator created them with the plugin's scripts. The version
 * row is written only after all statements succeeded. Nodes starting together against one external server
 * take turns through an advisory lock.
 */
public final class SchemaMigration {

  private static final Logger LOG = LoggerFactory.getLogger(SchemaMigration.class);

  /** The journal schema shipped inside the pekko-persistence-jdbc jar. */
  static final String JOURNAL_SCHEMA_RESOURCE = "schema/postgres/postgres-create-schema.sql";
  /**
   * SHA-256 of that resource in pekko-persistence-jdbc 1.1.1. Migration 1 must mean the same thing forever,
   * and a database that recorded it will not run it again: if an upgrade of the plugin changes the script,
   * start-up (and our tests, first) fail here, and the difference becomes a new migration.
   */
  static final String JOURNAL_SCHEMA_SHA256 = "9f579969026b5cb72d4071bc2cfbb172340c6ff055387cd1048b8f593f7b0968";

  static final String VERSION_TABLE = "public.orrery_schema_version";
  /** Arbitrary but fixed: every Orrery node must use the same key to serialise migrations. */
  static final long ADVISORY_LOCK_KEY = 0x6f72726572790001L; // "orrery" + 1
  private static final Duration LOCK_WAIT = Duration.ofMinutes(2);

  /** One numbered migration; its statements must each be re-runnable. */
  public record Migration(int version, String description, List<String> statements) {
    public Migration {
      if (version <= 0) {
        throw new IllegalArgumentException("migration version must be > 0, was " + version);
      }
      if (description == null || description.isBlank()) {
        throw new IllegalArgumentException("migration " + version + " needs a description, was '" + description + "'");
      }
      Objects.requireNonNull(statements, "statements");
      if (statements.isEmpty() || statements.stream().anyMatch(s -> s == null || s.isBlank())) {
        throw new IllegalArgumentException("migration " + version + " needs non-blank statements, was " + statements);
      }
      statements = List.copyOf(statements);
    }
  }

  /** A statement (or the bookkeeping around it) failed; the message names the migration and the statement. */
  public static final class MigrationException extends RuntimeException {
    private final int version;
    private final String statement;

    MigrationException(String message, int version, String statement, Throwable cause) {
      super(message, cause);
      this.version = version;
      this.statement = statement;
    }

    /** The migration that failed, or 0 for the bookkeeping (connecting, locking, the version table). */
    public int version() {
      return version;
    }

    /** The SQL that failed. */
    public String statement() {
      return statement;
    }
  }

  private SchemaMigration() {}

  /**
   * The migrations of this version of Orrery, in order; append new ones, never edit applied ones. Built on
   * each call (a 2 KB resource) so that a broken resource fails that call with its own message.
   */
  public static List<Migration> migrations() {
    return List.of(
        new Migration(1, "pekko-persistence-jdbc 1.1.1 journal, tags, snapshots and durable state",
            rerunnable(splitStatements(journalSchema()))),
        new Migration(2, "usage read side, projection offsets, audit log", List.of(
            "CREATE TABLE IF NOT EXISTS orrery_usage (tenant_id TEXT NOT NULL, reservation_id TEXT NOT NULL, "
                + "run_id TEXT, node_id TEXT, provider TEXT, model TEXT, day DATE NOT NULL, "
                + "tokens_in BIGINT NOT NULL, tokens_out BIGINT NOT NULL, cost_micros BIGINT NOT NULL, "
                + "settled_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (tenant_id, reservation_id))",
            "CREATE INDEX IF NOT EXISTS orrery_usage_tenant_day ON orrery_usage (tenant_id, day)",
            "CREATE TABLE IF NOT EXISTS orrery_projection_offset (name TEXT PRIMARY KEY, last_offset BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS orrery_audit (id BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, "
                + "tenant_id TEXT NOT NULL, key_id TEXT, action TEXT NOT NULL, target TEXT, outcome TEXT NOT NULL, "
                + "status INT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS orrery_audit_tenant_id ON orrery_audit (tenant_id, id)")),
        new Migration(3, "runs read side", List.of(
            "CREATE TABLE IF NOT EXISTS orrery_runs (tenant_id TEXT NOT NULL, run_id TEXT NOT NULL, "
                + "workflow TEXT NOT NULL, workflow_version INT NOT NULL, status TEXT NOT NULL, "
                + "accepted_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ, forked_from TEXT, error_code TEXT, "
                + "PRIMARY KEY (tenant_id, run_id))",
            "CREATE INDEX IF NOT EXISTS orrery_runs_tenant_accepted ON orrery_runs (tenant_id, accepted_at DESC, run_id DESC)",
            "CREATE INDEX IF NOT EXISTS orrery_usage_tenant_run ON orrery_usage (tenant_id, run_id)")));
  }

  /** Applies the pending migrations through a connection from {@code dataSource}. */
  public static void apply(DataSource dataSource) {
    apply(dataSource::getConnection, migrations());
  }

  /** Applies the pending migrations on {@code url} (a {@code jdbc:postgresql:} URL). */
  public static void apply(String url, String user, String password) {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", password == null ? "" : password);
    apply(() -> DriverManager.getConnection(url, props), migrations());
  }

  /** Opens the one connection a migration run uses. */
  @FunctionalInterface
  interface ConnectionSource {
    Connection open() throws SQLException;
  }

  static void apply(ConnectionSource source, List<Migration> migrations) {
    checkOrder(migrations);
    long startNanos = System.nanoTime();
    try (Connection c = source.open()) {
      // Each statement is its own transaction; see the class comment.
      c.setAutoCommit(true);
      lock(c);
      try {
        bookkeeping(c, "CREATE TABLE IF NOT EXISTS " + VERSION_TABLE + " ("
            + "version INTEGER PRIMARY KEY, "
            + "description TEXT NOT NULL, "
            + "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
        TreeSet<Integer> applied = appliedVersions(c);
        int known = migrations.get(migrations.size() - 1).version();
        if (!applied.isEmpty() && applied.last() > known) {
          // A newer node already migrated further. Migrations are additive, so an older node in a rolling
          // upgrade still works with the tables it knows; refusing to start would turn a deploy into an outage.
          LOG.warn("Database schema is at version {}, newer than this node knows ({}); continuing", applied.last(), known);
        }
        int count = 0;
        for (Migration m : migrations) {
          if (!applied.contains(m.version())) {
            run(c, m);
            count++;
          }
        }
        LOG.info("Database schema at version {} ({} migration(s) applied) in {} ms", Math.max(known, applied.isEmpty()
            ? 0 : applied.last()), count, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
      } finally {
        unlock(c);
      }
    } catch (SQLException e) {
      throw new MigrationException("cannot connect to apply the database schema: " + e.getMessage(), 0, null, e);
    }
  }

  private static void run(Connection c, Migration m) {
    long startNanos = System.nanoTime();
    List<String> statements = m.statements();
    for (int i = 0; i < statements.size(); i++) {
      String sql = statements.get(i);
      try (Statement s = c.createStatement()) {
        dropInvalidIndex(c, sql);
        s.execute(sql);
      } catch (SQLException e) {
        throw new MigrationException("migration " + m.version() + " (" + m.description() + ") failed at statement "
            + (i + 1) + " of " + statements.size() + ": " + e.getMessage() + "\n  statement: " + sql,
            m.version(), sql, e);
      }
    }
    String record = "INSERT INTO " + VERSION_TABLE + " (version, description) VALUES (?, ?) ON CONFLICT (version) DO NOTHING";
    try (PreparedStatement insert = c.prepareStatement(record)) {
      insert.setInt(1, m.version());
      insert.setString(2, m.description());
      insert.executeUpdate();
    } catch (SQLException e) {
      throw new MigrationException("migration " + m.version() + " ran but could not be recorded: " + e.getMessage()
          + "\n  statement: " + record, m.version(), record, e);
    }
    LOG.info("Applied database migration {} ({}) in {} ms", m.version(), m.description(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
  }

  private static final Pattern CREATE_INDEX = Pattern.compile(
      "(?is)^CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+(CONCURRENTLY\\s+)?IF\\s+NOT\\s+EXISTS\\s+(\\w+)\\s+ON\\s+(?:ONLY\\s+)?(?:(\\w+)\\.)?\\w+");

  /**
   * A {@code CREATE INDEX CONCURRENTLY} interrupted half-way leaves an INVALID index behind, which IF NOT
   * EXISTS would then keep forever (and PostgreSQL never uses). Drop such a leftover so the statement
   * builds it again.
   */
  private static void dropInvalidIndex(Connection c, String sql) throws SQLException {
    Matcher m = CREATE_INDEX.matcher(sql);
    if (!m.find()) {
      return;
    }
    String index = (m.group(3) == null ? "" : m.group(3) + ".") + m.group(2);
    try (PreparedStatement valid = c.prepareStatement(
        "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(?)")) {
      valid.setString(1, index);
      try (ResultSet rs = valid.executeQuery()) {
        if (!rs.next() || rs.getBoolean(1)) {
          return;
        }
      }
    }
    LOG.warn("Dropping invalid index {} left by an interrupted CREATE INDEX CONCURRENTLY; it is rebuilt next", index);
    try (Statement s = c.createStatement()) {
      s.execute("DROP INDEX " + (m.group(1) != null ? "CONCURRENTLY " : "") + "IF EXISTS " + index);
    }
  }

  private static TreeSet<Integer> appliedVersions(Connection c) {
    String sql = "SELECT version FROM " + VERSION_TABLE;
    TreeSet<Integer> versions = new TreeSet<>();
    try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      while (rs.next()) {
        versions.add(rs.getInt(1));
      }
      return versions;
    } catch (SQLException e) {
      throw new MigrationException("cannot read the schema version: " + e.getMessage() + "\n  statement: " + sql, 0, sql, e);
    }
  }

  /**
   * Waits for the advisory lock by trying it repeatedly. A blocking pg_advisory_lock would keep a snapshot
   * open while waiting, and the lock holder's CREATE INDEX CONCURRENTLY waits for every older snapshot:
   * the two nodes would deadlock.
   */
  private static void lock(Connection c) {
    String sql = "SELECT pg_try_advisory_lock(" + ADVISORY_LOCK_KEY + ")";
    long deadline = System.nanoTime() + LOCK_WAIT.toNanos();
    boolean logged = false;
    try (Statement s = c.createStatement()) {
      while (true) {
        try (ResultSet rs = s.executeQuery(sql)) {
          rs.next();
          if (rs.getBoolean(1)) {
            return;
          }
        }
        if (System.nanoTime() - deadline >= 0) {
          throw new MigrationException("another node held the schema migration lock for over " + LOCK_WAIT.toSeconds()
              + " s (pg_locks: advisory lock " + ADVISORY_LOCK_KEY + "); giving up", 0, sql, null);
        }
        if (!logged) {
          LOG.info("Another node is migrating the database schema; waiting for it");
          logged = true;
        }
        Thread.sleep(200);
      }
    } catch (SQLException e) {
      throw new MigrationException("cannot take the schema migration lock: " + e.getMessage() + "\n  statement: " + sql,
          0, sql, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new MigrationException("interrupted while waiting for the schema migration lock", 0, sql, e);
    }
  }

  private static void unlock(Connection c) {
    try (Statement s = c.createStatement()) {
      s.execute("SELECT pg_advisory_unlock(" + ADVISORY_LOCK_KEY + ")");
    } catch (SQLException e) {
      // Closing the connection, which follows, releases a session lock too.
      LOG.debug("pg_advisory_unlock failed; the lock goes with the connection", e);
    }
  }

  private static void bookkeeping(Connection c, String sql) {
    try (Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      throw new MigrationException("cannot prepare the schema version table: " + e.getMessage() + "\n  statement: " + sql,
          0, sql, e);
    }
  }

  private static void checkOrder(List<Migration> migrations) {
    if (migrations.isEmpty()) {
      throw new IllegalArgumentException("no migrations given");
    }
    for (int i = 0; i < migrations.size(); i++) {
      if (migrations.get(i).version() != i + 1) {
        throw new IllegalArgumentException("migrations must be numbered 1, 2, 3... in order, but position " + (i + 1)
            + " holds version " + migrations.get(i).version());
      }
    }
  }

  static String journalSchema() {
    byte[] bytes;
    try (InputStream in = SchemaMigration.class.getClassLoader().getResourceAsStream(JOURNAL_SCHEMA_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(JOURNAL_SCHEMA_RESOURCE + " is not on the classpath; is pekko-persistence-jdbc?");
      }
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + JOURNAL_SCHEMA_RESOURCE + ": " + e.getMessage(), e);
    }
    String sha256 = sha256(bytes);
    if (!sha256.equals(JOURNAL_SCHEMA_SHA256)) {
      throw new IllegalStateException(JOURNAL_SCHEMA_RESOURCE + " is not the one migration 1 was written for (sha-256 "
          + sha256 + ", expected " + JOURNAL_SCHEMA_SHA256 + "): pekko-persistence-jdbc was upgraded and changed its "
          + "schema. Keep migration 1 as it was (copy the old script) and add the difference as a new migration.");
    }
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }

  /**
   * Splits a script at top-level semicolons, dropping comments. It understands quotes and comments, which is
   * all the shipped scripts use; dollar-quoted bodies are refused rather than split wrongly.
   */
  static List<String> splitStatements(String script) {
    List<String> statements = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    int i = 0;
    int n = script.length();
    while (i < n) {
      char ch = script.charAt(i);
      if (ch == '-' && i + 1 < n && script.charAt(i + 1) == '-') {
        while (i < n && script.charAt(i) != '\n') {
          i++;
        }
      } else if (ch == '/' && i + 1 < n && script.charAt(i + 1) == '*') {
        int end = script.indexOf("*/", i + 2);
        if (end < 0) {
          throw new IllegalArgumentException("unterminated /* comment in schema script");
        }
        i = end + 2;
        current.append(' ');
      } else if (ch == '\'' || ch == '"') {
        int end = i + 1;
        while (true) {
          end = script.indexOf(ch, end);
          if (end < 0) {
            throw new IllegalArgumentException("unterminated " + ch + " quote in schema script");
          }
          if (end + 1 < n && script.charAt(end + 1) == ch) { // doubled quote = escaped
            end += 2;
          } else {
            break;
          }
        }
        current.append(script, i, end + 1);
        i = end + 1;
      } else if (ch == '$' && i + 1 < n && (script.charAt(i + 1) == '$' || Character.isLetter(script.charAt(i + 1)))
          && script.indexOf('$', i + 1) > i) {
        throw new IllegalArgumentException("dollar-quoted text is not supported in schema scripts; give such a "
            + "statement to a Migration on its own");
      } else if (ch == ';') {
        addStatement(statements, current);
        i++;
      } else {
        current.append(ch);
        i++;
      }
    }
    addStatement(statements, current);
    return statements;
  }

  private static void addStatement(List<String> statements, StringBuilder current) {
    String statement = current.toString().strip();
    if (!statement.isEmpty()) {
      statements.add(statement);
    }
    current.setLength(0);
  }

  private static final Pattern CREATE_TABLE = Pattern.compile("(?is)^CREATE\\s+TABLE\\s+(?!IF\\s+NOT\\s+EXISTS\\s)");
  private static final Pattern CREATE_INDEX_HEAD = Pattern.compile(
      "(?is)^(CREATE\\s+(?:UNIQUE\\s+)?INDEX\\s+(?:CONCURRENTLY\\s+)?)(IF\\s+NOT\\s+EXISTS\\s+)?(\\w+)?");

  /**
   * Makes each statement of a shipped script safe to run again, by adding IF NOT EXISTS where it is missing
   * (the 1.1.1 script lacks it on its three CREATE INDEX). Anything else is refused here, so that a statement
   * we cannot vouch for never reaches a database that may already hold data.
   */
  static List<String> rerunnable(List<String> statements) {
    List<String> result = new ArrayList<>();
    for (String sql : statements) {
      Matcher table = CREATE_TABLE.matcher(sql);
      Matcher index = CREATE_INDEX_HEAD.matcher(sql);
      if (table.find()) {
        result.add(table.replaceFirst("CREATE TABLE IF NOT EXISTS "));
      } else if (sql.matches("(?is)^CREATE\\s+TABLE\\s+IF\\s+NOT\\s+EXISTS\\s.*")) {
        result.add(sql);
      } else if (index.find()) {
        if (index.group(3) == null || index.group(3).equalsIgnoreCase("ON")) {
          throw new IllegalArgumentException("an unnamed index cannot be made re-runnable: " + sql);
        }
        result.add(index.group(2) != null ? sql
            : index.replaceFirst(Matcher.quoteReplacement(index.group(1)) + "IF NOT EXISTS " + index.group(3)));
      } else {
        throw new IllegalArgumentException("cannot make this statement re-runnable: " + sql);
      }
    }
    return List.copyOf(result);
  }
}
