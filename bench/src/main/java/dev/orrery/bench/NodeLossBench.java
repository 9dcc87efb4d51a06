package dev.orrery.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.cluster.db.EmbeddedDatabase;
import dev.orrery.cluster.db.SchemaMigration;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Recovery after a node loss: three {@code orrery serve} processes (the built jar) on one embedded
 * PostgreSQL, {@code runs} runs in flight on the simulated provider, {@code kill -9} of one node. Prints,
 * from the journal, how long after the kill every run that was in flight had persisted an event again
 * (and the p50/p90 over the runs), and when the survivors marked the node unreachable and downed it.
 * Each {@code profile} (failure detector pause / split-brain stable-after) gets its own cluster and database.
 *
 * <p>Arguments (all optional): {@code runs=1000 steps=40 latency-ms=3000 profiles=}{@value #PROFILES}:
 * name:acceptable-heartbeat-pause:stable-after and, optionally, the down-removal-margin (cluster.conf's
 * unless given), the failure detector's heartbeat-interval, and {@code sbr-only} to turn off the downing
 * of members whose process is gone ({@code orrery.cluster.down-dead-processes}). The default profiles
 * are the shipped settings, the same with the split-brain resolver alone, and the settings before the
 * dead-process downing (Pekko's removal margin of stable-after).
 */
public final class NodeLossBench {
  static final String PROFILES =
      "shipped:1s:7s,resolver-only:1s:7s:200ms:500ms:sbr-only,before:3s:7s:7s:500ms:sbr-only";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ADMIN_KEY = "bench-platform-admin-key";
  /** What a survivor logs when it downs a member whose process is gone (dev.orrery.cluster.DeadProcessDowning). */
  private static final String REFUSED = "refuses connections";
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchArgs.parse(args);
    int runs = Integer.parseInt(opts.getOrDefault("runs", "1000"));
    int steps = Integer.parseInt(opts.getOrDefault("steps", "40"));
    // Slow enough steps that three nodes on 2 cores keep up with 1,000 runs: the time measured is then the
    // recovery's, not a queue's.
    String latency = opts.getOrDefault("latency-ms", "3000");
    Path jar = Path.of(opts.getOrDefault("jar", "cluster-config/target/orrery.jar"));
    if (!Files.exists(jar)) throw new IllegalStateException("build the node first: " + jar);

    Path work = Files.createTempDirectory("orrery-node-loss-bench");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(work.resolve("db"), 0)) {
      int n = 0;
      System.out.printf("Node loss: 3 nodes, %d runs of %d steps at %s ms per step, kill -9 of one node (%d cores)%n",
          runs, steps, latency, Runtime.getRuntime().availableProcessors());
      for (String profile : opts.getOrDefault("profiles", PROFILES).split(",")) {
        String[] p = profile.split(":");
        String database = "bench_" + (++n);
        try (Connection c = DriverManager.getConnection(db.jdbcUrl("postgres"), db.user(), "");
            Statement s = c.createStatement()) {
          s.execute("CREATE DATABASE " + database);
        }
        String url = db.jdbcUrl(database);
        SchemaMigration.apply(url, db.user(), "");
        List<String> jvm = new ArrayList<>();
        if (p.length > 3) jvm.add("-Dpekko.cluster.down-removal-margin=" + p[3]);
        if (p.length > 4) jvm.add("-Dpekko.cluster.failure-detector.heartbeat-interval=" + p[4]);
        boolean sbrOnly = p.length > 5 && p[5].equals("sbr-only");
        Map<String, String> env = new HashMap<>(Map.of(
            "ORRERY_DB_URL", url, "ORRERY_DB_USER", db.user(), "ORRERY_DB_PASSWORD", "",
            "ORRERY_ADMIN_KEY", ADMIN_KEY, "ORRERY_SIM_LATENCY_MS", latency,
            "ORRERY_RATE_LIMIT_PER_MINUTE", "10000000",
            "ORRERY_FAILURE_DETECTOR_PAUSE", p[1], "ORRERY_SBR_STABLE_AFTER", p[2],
            "ORRERY_DOWN_DEAD_PROCESSES", sbrOnly ? "off" : "on"));
        measure(p[0] + " (pause " + p[1] + ", stable-after " + p[2] + (p.length > 3 ? ", margin " + p[3] : "")
                + (p.length > 4 ? ", heartbeat " + p[4] : "") + (sbrOnly ? ", resolver only" : "") + ")",
            jar, jvm, work.resolve(database), env, url, db.user(), runs, steps);
      }
    }
  }

  private static void measure(String profile, Path jar, List<String> jvm, Path dir, Map<String, String> env, String url, String user,
      int runs, int steps) throws Exception {
    List<int[]> ports = new ArrayList<>();
    for (int i = 0; i < 3; i++) ports.add(new int[] {freePort(), freePort(), freePort()});
    String seeds = String.join(",", ports.stream().map(p -> "127.0.0.1:" + p[1]).toList());
    List<Node> nodes = new ArrayList<>();
    Files.createDirectories(dir);
    try {
      for (int i = 0; i < 3; i++) {
        Map<String, String> e = new HashMap<>(env);
        e.put("ORRERY_HTTP_PORT", String.valueOf(ports.get(i)[0]));
        e.put("ORRERY_CLUSTER_PORT", String.valueOf(ports.get(i)[1]));
        e.put("ORRERY_MANAGEMENT_PORT", String.valueOf(ports.get(i)[2]));
        e.put("ORRERY_SEED_NODES", seeds);
        e.put("ORRERY_DATA_DIR", dir.resolve("node-" + i).toString());
        nodes.add(Node.start(jar, jvm, e, dir.resolve("node-" + i + ".log")));
      }
      for (Node node : nodes) node.await("Orrery is up", 180);
      awaitMembers(ports.get(0)[2], 3);
      String base0 = "http://127.0.0.1:" + ports.get(0)[0];
      send(base0, ADMIN_KEY, "/api/v1/tenants", Map.of("tenant_id", "bench", "name", "bench"));
      String key = send(base0, ADMIN_KEY, "/api/v1/tenants/bench/keys", Map.of("role", "admin")).get("key").asText();

      long warming = System.nanoTime();
      submit(ports, key, 200, 1); // warm-up: JIT, connection pools, shard allocation
      double warmup = (System.nanoTime() - warming) / 1e9;
      long started = System.nanoTime();
      List<String> ids = submit(ports, key, runs, steps);
      double seconds = (System.nanoTime() - started) / 1e9;
      Set<String> inFlight = new HashSet<>(ids);
      inFlight.removeAll(completed(url, user));

      long killedAt = System.currentTimeMillis();
      nodes.get(2).process.destroyForcibly().waitFor();
      // A run moved again when it persisted an event, or when a survivor re-dispatched its open step (the
      // step's answer then takes the provider's latency, which is not the recovery's).
      Map<String, Long> moved = Map.of();
      long deadline = System.currentTimeMillis() + 120_000;
      while (System.currentTimeMillis() < deadline) {
        moved = new HashMap<>(firstWriteAfter(url, user, killedAt));
        Map<String, Long> m = moved;
        for (Node survivor : nodes.subList(0, 2)) survivor.redispatched.forEach((run, at) -> m.merge(run, at, Math::min));
        if (moved.keySet().containsAll(inFlight)) break;
        TimeUnit.MILLISECONDS.sleep(100);
      }
      Map<String, Long> last = moved;
      long[] delays = inFlight.stream().mapToLong(r -> last.getOrDefault(r, Long.MAX_VALUE) - killedAt).sorted().toArray();
      // The first survivor to notice (a survivor told by the other's gossip first never logs it itself).
      long unreachable = earliest(nodes.subList(0, 2), "Marking node as UNREACHABLE") - killedAt;
      // Downed by a survivor that found the process gone, or else by a survivor's resolver.
      long refused = earliest(nodes.subList(0, 2), REFUSED);
      long downed = (refused > 0 ? refused : earliest(nodes.subList(0, 2), "SBR took decision")) - killedAt;
      System.out.printf("  %-38s warm-up: 200 one-step runs submitted in %.1f s (%.0f/s)%n", profile, warmup,
          200 / warmup);
      System.out.printf("  %-38s submitted %d runs in %.1f s (%.0f/s); %d in flight at the kill%n", "", runs,
          seconds, runs / seconds, inFlight.size());
      int redispatched = nodes.get(0).redispatched.size() + nodes.get(1).redispatched.size();
      System.out.printf("  %-38s unreachable after %d ms, downed after %d ms; %d runs re-dispatched by the survivors;%n"
              + "  %-38s every run moved again after %s ms (p50 %d, p90 %d)%n", "", unreachable, downed, redispatched, "",
          delays[delays.length - 1] == Long.MAX_VALUE - killedAt ? "> 120000" : String.valueOf(delays[delays.length - 1]),
          delays[delays.length / 2], delays[delays.length * 9 / 10]);
    } finally {
      for (Node node : nodes) node.process.destroyForcibly().waitFor();
    }
  }

  /** When the first of {@code nodes} logged {@code mark} (epoch ms), or -1 when none did. */
  private static long earliest(List<Node> nodes, String mark) {
    return nodes.stream().mapToLong(n -> n.firstSeen(mark)).filter(t -> t > 0).min().orElse(-1);
  }

  /** Submits runs round-robin over nodes 0..2, 16 at a time; returns persistence ids. */
  private static List<String> submit(List<int[]> ports, String key, int count, int steps) throws Exception {
    List<Map<String, Object>> chain = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      chain.add(Map.of("id", "s" + i, "type", "llm", "prompt", i == 0 ? "Begin" : "Go on from {{s" + (i - 1) + ".output}}"));
    }
    Map<String, Object> body = Map.of("workflow", Map.of("name", "chain", "version", 1, "nodes", chain));
    List<String> ids = java.util.Collections.synchronizedList(new ArrayList<>());
    ExecutorService pool = Executors.newFixedThreadPool(16);
    Semaphore window = new Semaphore(16);
    CountDownLatch done = new CountDownLatch(count);
    for (int i = 0; i < count; i++) {
      String base = "http://127.0.0.1:" + ports.get(i % 3)[0];
      window.acquire();
      pool.execute(() -> {
        try {
          ids.add("run|bench|" + send(base, key, "/api/v1/runs", body).get("run_id").asText());
        } catch (Exception e) {
          System.err.println("submit failed: " + e);
        } finally {
          window.release();
          done.countDown();
        }
      });
    }
    done.await();
    pool.shutdown();
    return ids;
  }

  private static JsonNode send(String base, String key, String path, Object body) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base + path))
        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) throw new IllegalStateException(path + ": " + r.statusCode() + " " + r.body());
    return JSON.readTree(r.body());
  }

  private static void awaitMembers(int managementPort, int expected) throws Exception {
    long deadline = System.currentTimeMillis() + 120_000;
    while (System.currentTimeMillis() < deadline) {
      try {
        HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + managementPort + "/cluster/members")).build(), HttpResponse.BodyHandlers.ofString());
        long up = 0;
        for (JsonNode m : JSON.readTree(r.body()).get("members")) if (m.get("status").asText().equals("Up")) up++;
        if (up == expected) return;
      } catch (IOException e) {
        // not bound yet
      }
      TimeUnit.MILLISECONDS.sleep(200);
    }
    throw new IllegalStateException("cluster did not form");
  }

  private static Set<String> completed(String url, String user) throws Exception {
    Set<String> runs = new HashSet<>();
    try (Connection c = DriverManager.getConnection(url, user, "");
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT DISTINCT persistence_id FROM event_journal "
            + "WHERE event_ser_manifest ~ '\\$RunCompleted(#[0-9]+)?$'")) {
      while (rs.next()) runs.add(rs.getString(1));
    }
    return runs;
  }

  private static Map<String, Long> firstWriteAfter(String url, String user, long after) throws Exception {
    Map<String, Long> first = new HashMap<>();
    try (Connection c = DriverManager.getConnection(url, user, "");
        PreparedStatement s = c.prepareStatement("SELECT persistence_id, min(write_timestamp) FROM event_journal "
            + "WHERE persistence_id LIKE 'run|%' AND write_timestamp > ? GROUP BY persistence_id")) {
      s.setLong(1, after);
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) first.put(rs.getString(1), rs.getLong(2));
      }
    }
    return first;
  }

  /**
   * A free port below Linux's ephemeral range (32768 and up): a port the kernel handed out there was taken,
   * between the check and the node's bind, by one of the many connections the nodes open.
   */
  private static int freePort() throws IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      int port = 20_000 + ThreadLocalRandom.current().nextInt(12_000);
      try (var socket = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        return socket.getLocalPort();
      } catch (IOException taken) {
        // try another
      }
    }
    throw new IOException("no free port between 20000 and 32000");
  }

  /** A node process; remembers when each of its output lines arrived. */
  private static final class Node {
    final Process process;
    final Map<String, Long> firstSeen = new ConcurrentHashMap<>();
    /** Persistence id → when this node first logged re-dispatching one of the run's steps after recovery. */
    final Map<String, Long> redispatched = new ConcurrentHashMap<>();
    final List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());

    Node(Process process, Path log) throws IOException {
      this.process = process;
      var out = Files.newBufferedWriter(log, StandardCharsets.UTF_8);
      Thread t = new Thread(() -> {
        try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = in.readLine()) != null) {
            long now = System.currentTimeMillis();
            for (String mark : List.of("Orrery is up", "Marking node as UNREACHABLE", "SBR took decision", REFUSED)) {
              if (line.contains(mark)) firstSeen.putIfAbsent(mark, now);
            }
            int at = line.indexOf("RunEntity - run ");
            if (at >= 0 && line.contains("after recovery")) {
              String run = line.substring(at + "RunEntity - run ".length(), line.indexOf(':', at));
              redispatched.putIfAbsent("run|bench|" + run, now);
            }
            out.write(line);
            out.newLine();
          }
          out.close();
        } catch (IOException ignored) {
          // killed
        }
      });
      t.setDaemon(true);
      t.start();
    }

    static Node start(Path jar, List<String> jvm, Map<String, String> env, Path log) throws IOException {
      List<String> command = new ArrayList<>(List.of("java", "-Xmx1g", "-XX:+UseParallelGC",
          "-Djava.util.concurrent.ForkJoinPool.common.parallelism=2"));
      command.addAll(jvm);
      command.addAll(List.of("-jar", jar.toString(), "serve"));
      ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
      b.environment().putAll(env);
      return new Node(b.start(), log);
    }

    void await(String mark, int seconds) throws Exception {
      long deadline = System.currentTimeMillis() + seconds * 1000L;
      while (!firstSeen.containsKey(mark)) {
        if (!process.isAlive() || System.currentTimeMillis() > deadline) throw new IllegalStateException("node did not start");
        TimeUnit.MILLISECONDS.sleep(100);
      }
    }

    long firstSeen(String mark) {
      return firstSeen.getOrDefault(mark, -1L);
    }
  }
}
