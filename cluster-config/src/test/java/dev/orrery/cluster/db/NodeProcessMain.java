package dev.orrery.cluster.db;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;

/**
 * Stands in for a node's JVM in {@link EmbeddedDatabaseTest}: starts the embedded database on the directory
 * given as the first argument, commits the row {@code (id, note)} given as the next two, prints
 * {@code READY <postmaster pid> <port>} and then waits to be killed, so that its server is left behind.
 */
public final class NodeProcessMain {

  private NodeProcessMain() {}

  public static void main(String[] args) throws Exception {
    EmbeddedDatabase db = EmbeddedDatabase.start(Path.of(args[0]), 0);
    try (Connection c = DriverManager.getConnection(db.jdbcUrl("postgres"), db.user(), "")) {
      try (Statement s = c.createStatement()) {
        s.execute("CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, note TEXT NOT NULL)");
      }
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO probe (id, note) VALUES (?, ?)")) {
        insert.setInt(1, Integer.parseInt(args[1]));
        insert.setString(2, args[2]);
        insert.executeUpdate(); // autocommit: acknowledged means committed
      }
    }
    System.out.println("READY " + db.postmasterPid() + " " + db.port());
    System.out.flush();
    new CountDownLatch(1).await(); // until SIGKILL: no close(), no shutdown hook
  }
}
