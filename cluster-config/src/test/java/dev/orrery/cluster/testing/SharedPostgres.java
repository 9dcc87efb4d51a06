package dev.orrery.cluster.testing;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.orrery.cluster.db.EmbeddedDatabase;
import dev.orrery.cluster.db.SchemaMigration;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One embedded PostgreSQL per test JVM, started on first use, with a fresh database per test class that
 * already has the schema. The server runs with the production settings (fsync and synchronous_commit on):
 * that is what we test, and on this hardware it costs little.
 *
 * <pre>{@code
 * @ExtendWith(SharedPostgres.class)
 * class RunRecoveryTest {
 *   @Test void runSurvivesRestart(SharedPostgres.TestDatabase db) {
 *     Config config = db.persistenceConfig().withFallback(ConfigFactory.load());
 *     ...
 * }</pre>
 *
 * A {@code TestDatabase} parameter resolves, in a constructor, a lifecycle method or a test, to the database
 * of the test class (created on first request, dropped after the class). {@link #newDatabase()} gives one
 * without the extension, e.g. for a static field. The server lives in {@code target/orrery-test-pg-*} and is
 * stopped, and its directory deleted, when JUnit finishes or, failing that, by a JVM shutdown hook (Ctrl-C);
 * a run killed outright is swept up by the next one.
 */
public final class SharedPostgres implements ParameterResolver {

  private static final Logger LOG = LoggerFactory.getLogger(SharedPostgres.class);
  private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(SharedPostgres.class);
  private static final String DIRECTORY_PREFIX = "orrery-test-pg-";
  private static final AtomicInteger DATABASES = new AtomicInteger();

  /** Where a test connects. */
  public record TestDatabase(String jdbcUrl, String user, String password) {

    /**
     * The overrides that point pekko-persistence-jdbc at this database: the journal, the snapshot store and
     * the read journal share one Slick database (one pool), sized as FACTS.md measured best.
     */
    public Config persistenceConfig() {
      Map<String, Object> settings = new LinkedHashMap<>();
      settings.put("jdbc-journal.use-shared-db", "slick");
      settings.put("jdbc-snapshot-store.use-shared-db", "slick");
      settings.put("jdbc-read-journal.use-shared-db", "slick");
      String db = "pekko-persistence-jdbc.shared-databases.slick";
      settings.put(db + ".profile", "slick.jdbc.PostgresProfile$");
      settings.put(db + ".db.driver", "org.postgresql.Driver");
      settings.put(db + ".db.url", jdbcUrl);
      settings.put(db + ".db.user", user);
      settings.put(db + ".db.password", password);
      settings.put(db + ".db.numThreads", 2);
      settings.put(db + ".db.maxConnections", 2);
      settings.put(db + ".db.minConnections", 2);
      return ConfigFactory.parseMap(settings, "SharedPostgres test database " + jdbcUrl);
    }

    /** A plain JDBC connection, for assertions on what was persisted. */
    public Connection connect() throws SQLException {
      return DriverManager.getConnection(jdbcUrl, user, password);
    }
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == TestDatabase.class;
  }

  @Override
  public TestDatabase resolveParameter(ParameterContext parameter, ExtensionContext context) {
    // Stop the server with JUnit's root context: it closes after the last test class, before the JVM exits.
    context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent(Server.class, k -> new ServerCloser(), ServerCloser.class);
    ExtensionContext classContext = context;
    while (classContext.getTestMethod().isPresent()) {
      classContext = classContext.getParent().orElseThrow();
    }
    return classContext.getStore(NAMESPACE)
        .getOrComputeIfAbsent(ClassDatabase.class, k -> ClassDatabase.create(), ClassDatabase.class)
        .database();
  }

  /** A new database with the schema applied, on the shared server. */
  public static TestDatabase newDatabase() {
    return ClassDatabase.create().database();
  }

  /** A test class's database, dropped after the class; the tests' actor systems have terminated by then. */
  private record ClassDatabase(String name, TestDatabase database) implements ExtensionContext.Store.CloseableResource {

    static ClassDatabase create() {
      EmbeddedDatabase server = Server.get();
      String name = "orrery_test_" + DATABASES.incrementAndGet();
      server.createDatabase(name);
      TestDatabase db = new TestDatabase(server.jdbcUrl(name), server.user(), "");
      SchemaMigration.apply(db.jdbcUrl(), db.user(), db.password());
      return new ClassDatabase(name, db);
    }

    @Override
    public void close() {
      EmbeddedDatabase server = Server.running();
      if (server == null) {
        return; // stopped already (JVM shutdown): the directory goes with it
      }
      try (Connection c = DriverManager.getConnection(server.jdbcUrl("postgres"), server.user(), "");
           Statement s = c.createStatement()) {
        // FORCE ends connections a test forgot to close, which would otherwise make the DROP fail.
        s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
      } catch (SQLException e) {
        // Only disk space is at stake: the whole server directory goes at the end of the run.
        LOG.warn("Could not drop test database {}: {}", name, e.getMessage());
      }
    }
  }

  private static final class ServerCloser implements ExtensionContext.Store.CloseableResource {
    @Override
    public void close() {
      Server.close();
    }
  }

  /** The JVM's one server, its directory and its shutdown hook. */
  private static final class Server {
    private static EmbeddedDatabase database;
    private static Path directory;
    private static Thread shutdownHook;
    private static boolean closed;

    static synchronized EmbeddedDatabase get() {
      if (closed) {
        throw new IllegalStateException("the shared test PostgreSQL has already been stopped");
      }
      if (database == null) {
        sweepLeftovers();
        directory = BuildDirectory.newTempDirectory(DIRECTORY_PREFIX);
        shutdownHook = new Thread(Server::close, "shared-postgres-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        database = EmbeddedDatabase.start(directory, 0);
      }
      return database;
    }

    static synchronized EmbeddedDatabase running() {
      return closed ? null : database;
    }

    static synchronized void close() {
      if (closed) {
        return;
      }
      closed = true;
      if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
        try {
          Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
          // The JVM is already shutting down; the hook finds the server closed.
        }
      }
      try {
        if (database != null) {
          database.close();
        }
      } finally {
        if (directory != null) {
          BuildDirectory.deleteRecursively(directory);
        }
      }
    }

    /**
     * A test JVM killed outright (a Surefire timeout, kill -9) leaves its server running in its directory.
     * Directories whose lock no live process holds are such leftovers: stop their server and delete them.
     */
    private static void sweepLeftovers() {
      try (DirectoryStream<Path> dirs = Files.newDirectoryStream(BuildDirectory.path(), DIRECTORY_PREFIX + "*")) {
        for (Path dir : dirs) {
          if (!Files.exists(dir.resolve(EmbeddedDatabase.LOCK_FILE))) {
            continue; // not started yet: perhaps a parallel fork that is about to
          }
          try {
            boolean stopped = EmbeddedDatabase.stopLeftoverServer(dir);
            BuildDirectory.deleteRecursively(dir);
            LOG.info("Removed {} left by an earlier test run{}", dir, stopped ? ", after stopping its server" : "");
          } catch (IllegalStateException e) {
            LOG.debug("Leaving {}: {}", dir, e.getMessage()); // in use by a live (parallel) test JVM
          }
        }
      } catch (IOException e) {
        LOG.warn("Could not look for leftover test databases in {}: {}", BuildDirectory.path(), e.getMessage());
      }
    }
  }
}
