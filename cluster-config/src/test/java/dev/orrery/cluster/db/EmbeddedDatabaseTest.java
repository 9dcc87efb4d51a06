package dev.orrery.cluster.db;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.BuildDirectory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import dev.orrery.cluster.db.LeftoverServer.Timeouts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseTest {

  @TempDir(factory = BuildDirectory.TempDirs.class)
  Path tempDir;

  private final List<Process> children = new ArrayList<>();

  /** Whatever a test left running (it failed half-way) is stopped before JUnit deletes the directory. */
  @AfterEach
  void stopEverything() {
    children.forEach(Process::destroyForcibly);
    EmbeddedDatabase.stopLeftoverServer(tempDir.resolve("node"));
  }

  @Test
  void serverIsAsDurableAsAProductionOneAndListensOnLoopbackOnly() throws Exception {
    try (EmbeddedDatabase db = EmbeddedDatabase.start(tempDir.resolve("node"), 0)) {
      assertEquals("on", show(db, "fsync"));
      assertEquals("on", show(db, "synchronous_commit"));
      assertEquals("on", show(db, "full_page_writes"));
      assertEquals("127.0.0.1", show(db, "listen_addresses"));
      assertEquals("", show(db, "unix_socket_directories"));
      assertEquals("100", show(db, "max_connections"));
      assertTrue(db.jdbcUrl("postgres").endsWith("?reWriteBatchedInserts=true"), db.jdbcUrl("postgres"));
      assertTrue(Files.exists(tempDir.resolve("node/pg/postgresql.conf")), "cluster lives in <data dir>/pg");
    }
  }

  @Test
  void committedDataSurvivesAStopAndRestartOnTheSameDirectory() throws Exception {
    Path dataDir = tempDir.resolve("node");
    long firstStart = System.nanoTime();
    long firstPid;
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      report("first start (initdb + start)", firstStart);
      firstPid = db.postmasterPid();
      execute(db, "CREATE TABLE kept (id INTEGER PRIMARY KEY, note TEXT)", "INSERT INTO kept VALUES (1, 'still here')");
    }
    assertFalse(ProcessHandle.of(firstPid).map(LeftoverServer::running).orElse(false), "close() stops the postmaster");
    assertFalse(Files.exists(dataDir.resolve("pg/postmaster.pid")), "a clean stop removes postmaster.pid");

    long restart = System.nanoTime();
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      report("restart on an existing cluster", restart);
      assertEquals("still here", queryString(db, "SELECT note FROM kept WHERE id = 1"));
    }
  }

  @Test
  void createDatabaseIsIdempotentAndRefusesUnsafeNames() throws Exception {
    try (EmbeddedDatabase db = EmbeddedDatabase.start(tempDir.resolve("node"), 0)) {
      db.createDatabase("orrery");
      db.createDatabase("orrery");
      try (Connection c = DriverManager.getConnection(db.jdbcUrl("orrery"), db.user(), "")) {
        assertTrue(c.isValid(5));
      }
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> db.createDatabase("x\"; DROP"));
      assertTrue(e.getMessage().contains("x\"; DROP"), e.getMessage());
    }
  }

  @Test
  void aSecondStartOnADirectoryInUseFailsWithoutHarmingTheRunningServer() throws Exception {
    try (EmbeddedDatabase db = EmbeddedDatabase.start(tempDir.resolve("node"), 0)) {
      IllegalStateException e =
          assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(tempDir.resolve("node"), 0));
      assertTrue(e.getMessage().contains("in use"), e.getMessage());
      assertEquals("1", queryString(db, "SELECT 1"));
    }
  }

  @Test
  void orphanedServerOfAKilledJvmIsTakenOverWithoutLosingCommittedData() throws Exception {
    Path dataDir = tempDir.resolve("node");
    Node node = startNodeProcess(dataDir, 1, "committed before kill -9");
    // While the node lives, its lock protects its server: a second start must not "take it over".
    IllegalStateException inUse = assertThrows(IllegalStateException.class, () -> EmbeddedDatabase.start(dataDir, 0));
    assertTrue(inUse.getMessage().contains("in use"), inUse.getMessage());

    node.process().destroyForcibly(); // SIGKILL: no close(), no shutdown hook
    assertTrue(node.process().waitFor(30, TimeUnit.SECONDS), "the node JVM dies");
    ProcessHandle orphan = ProcessHandle.of(node.postmasterPid()).orElseThrow();
    assertTrue(LeftoverServer.running(orphan), "the postmaster outlives the killed JVM");

    long takeover = System.nanoTime();
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      report("orphan takeover (stop orphan + start)", takeover);
      assertEquals("committed before kill -9", queryString(db, "SELECT note FROM probe WHERE id = 1"));
      assertFalse(LeftoverServer.running(orphan), "the orphaned postmaster is gone");
      assertNotEquals(node.postmasterPid(), db.postmasterPid());
    }
    assertTrue(serverLog(dataDir).contains("received fast shutdown request"), "stopped with SIGINT, not killed");
  }

  @Test
  void aServerIgnoringShutdownSignalsIsKilledAndRecovers() throws Exception {
    Path dataDir = tempDir.resolve("node");
    Node node = startNodeProcess(dataDir, 2, "committed before the hang");
    node.process().destroyForcibly();
    assertTrue(node.process().waitFor(30, TimeUnit.SECONDS));
    ProcessHandle postmaster = ProcessHandle.of(node.postmasterPid()).orElseThrow();
    signal("STOP", postmaster); // a stopped process takes no SIGINT or SIGQUIT, only SIGKILL

    Timeouts quick = new Timeouts(Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(30));
    assertTrue(LeftoverServer.stop(dataDir.resolve("pg"), "test", quick));
    assertFalse(LeftoverServer.running(postmaster));
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      assertEquals("committed before the hang", queryString(db, "SELECT note FROM probe WHERE id = 2"));
    }
  }

  @Test
  void backendsOutlivingTheirPostmasterAreFoundAndStopped() throws Exception {
    Path dataDir = tempDir.resolve("node");
    Node node = startNodeProcess(dataDir, 4, "committed before the crash");
    node.process().destroyForcibly();
    assertTrue(node.process().waitFor(30, TimeUnit.SECONDS));
    ProcessHandle postmaster = ProcessHandle.of(node.postmasterPid()).orElseThrow();
    // A stopped child cannot notice its postmaster's death, so it stays attached to the old shared memory.
    ProcessHandle stray = postmaster.children().findFirst().orElseThrow();
    signal("STOP", stray);
    postmaster.destroyForcibly();
    assertTrue(LeftoverServer.awaitExit(List.of(postmaster), Duration.ofSeconds(30)));
    assertTrue(LeftoverServer.running(stray));

    Timeouts quick = new Timeouts(Duration.ofMillis(500), Duration.ofMillis(500), Duration.ofSeconds(30));
    assertTrue(LeftoverServer.stop(dataDir.resolve("pg"), "test", quick), "the stray backend is found");
    assertFalse(LeftoverServer.running(stray));
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      assertEquals("committed before the crash", queryString(db, "SELECT note FROM probe WHERE id = 4"));
    }
  }

  @Test
  void serverKilledOutrightRecoversCommittedDataFromItsWal() throws Exception {
    Path dataDir = tempDir.resolve("node");
    Node node = startNodeProcess(dataDir, 7, "committed before the crash");
    ProcessHandle postmaster = ProcessHandle.of(node.postmasterPid()).orElseThrow();
    List<ProcessHandle> backends = postmaster.descendants().toList();
    node.process().destroyForcibly();
    postmaster.destroyForcibly(); // a crash of the server itself: no shutdown checkpoint, pid file left behind
    assertTrue(node.process().waitFor(30, TimeUnit.SECONDS));
    assertTrue(LeftoverServer.awaitExit(List.of(postmaster), Duration.ofSeconds(30)));
    assertTrue(Files.exists(dataDir.resolve("pg/postmaster.pid")), "a killed postmaster leaves its pid file");

    long recovery = System.nanoTime();
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      report("start after a server crash (WAL replay)", recovery);
      assertEquals("committed before the crash", queryString(db, "SELECT note FROM probe WHERE id = 7"));
      assertTrue(backends.stream().noneMatch(LeftoverServer::running), "no old backend survives");
    }
    assertTrue(serverLog(dataDir).contains("automatic recovery in progress"), "the WAL was replayed");
  }

  @Test
  void aPidFileNamingAnUnrelatedLiveProcessDoesNotBlockTheStart() throws Exception {
    // After a container restart the old postmaster's pid often belongs to someone else (here: this JVM).
    Path dataDir = tempDir.resolve("node");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      execute(db, "CREATE TABLE kept (id INTEGER PRIMARY KEY)", "INSERT INTO kept VALUES (3)");
    }
    Files.writeString(dataDir.resolve("pg/postmaster.pid"),
        ProcessHandle.current().pid() + "\n" + dataDir.resolve("pg") + "\n1700000000\n5432\n\n127.0.0.1\n  1234  5678\nready\n");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir, 0)) {
      assertEquals("3", queryString(db, "SELECT id FROM kept"));
    }
    assertTrue(ProcessHandle.current().isAlive());
  }

  private record Node(Process process, long postmasterPid, int port) {}

  /** Starts {@link NodeProcessMain} in a child JVM and waits for its READY line. */
  private Node startNodeProcess(Path dataDir, int id, String note) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    // Surefire runs tests from a manifest-only jar; this property holds the real test class path.
    String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    // The JVM dies by SIGKILL, so its deleteOnExit temp files (zonky writes one) stay: keep them in our temp
    // dir, while zonky's extracted binaries stay in the cache this JVM uses.
    Path childTmp = Files.createDirectories(tempDir.resolve("child-tmp"));
    String binaries = System.getProperty("ot.epg.working-dir",
        Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg").toString());
    Process process = new ProcessBuilder(java, "-Xmx256m", "-Djava.io.tmpdir=" + childTmp,
        "-Dot.epg.working-dir=" + binaries, "-cp", classPath, NodeProcessMain.class.getName(),
        dataDir.toString(), Integer.toString(id), note)
        .redirectErrorStream(true)
        .start();
    children.add(process);
    List<String> output = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          output.add(line);
          if (line.startsWith("READY ")) {
            ready.complete(line);
          }
        }
        ready.completeExceptionally(new IllegalStateException("node process ended without READY: " + output));
      } catch (IOException e) {
        ready.completeExceptionally(e);
      }
    }, "node-process-output");
    reader.setDaemon(true);
    reader.start();
    String[] line = ready.get(90, TimeUnit.SECONDS).split(" ");
    return new Node(process, Long.parseLong(line[1]), Integer.parseInt(line[2]));
  }

  private static String serverLog(Path dataDir) throws IOException {
    StringBuilder log = new StringBuilder();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dataDir.resolve("pg/log"))) {
      for (Path f : files) {
        log.append(Files.readString(f, StandardCharsets.UTF_8));
      }
    }
    return log.toString();
  }

  private static void signal(String signal, ProcessHandle p) throws Exception {
    Process kill = new ProcessBuilder("kill", "-s", signal, Long.toString(p.pid())).inheritIO().start();
    assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0, "kill -s " + signal + " " + p.pid());
  }

  private static void report(String what, long startNanos) {
    System.out.printf("TIMING %s: %d ms%n", what, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
  }

  private static String show(EmbeddedDatabase db, String setting) throws SQLException {
    return queryString(db, "SHOW " + setting);
  }

  private static String queryString(EmbeddedDatabase db, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl("postgres"), db.user(), "");
         Statement s = c.createStatement();
         ResultSet rs = s.executeQuery(sql)) {
      assertTrue(rs.next(), "no row for " + sql);
      return rs.getString(1);
    }
  }

  private static void execute(EmbeddedDatabase db, String... statements) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl("postgres"), db.user(), "");
         Statement s = c.createStatement()) {
      for (String sql : statements) {
        s.execute(sql);
      }
    }
  }
}
