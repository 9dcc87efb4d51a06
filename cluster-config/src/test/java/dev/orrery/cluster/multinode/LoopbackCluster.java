package dev.orrery.cluster.multinode;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.BuildDirectory;
import dev.orrery.cluster.testing.NodeProcess;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * N {@code orrery serve} processes on loopback sharing one database, each listing all of them as seed
 * nodes (as bin/local-cluster does), and a tenant with a key to submit runs with.
 */
final class LoopbackCluster implements AutoCloseable {
  static final String TENANT = "loopback";

  private final SharedPostgres.TestDatabase db;
  private final Map<String, String> env;
  private final List<NodeProcess.Ports> ports;
  private final NodeProcess[] nodes;
  private final List<String> names;
  private final List<Map<String, String>> extras;
  private String tenantKey;

  /** @param env settings of every node (ORRERY_SIM_LATENCY_MS …), beside the ones this class sets */
  LoopbackCluster(SharedPostgres.TestDatabase db, int size, Map<String, String> env, String name) {
    this.db = db;
    this.env = Map.copyOf(env);
    this.ports = IntStream.range(0, size).mapToObj(i -> NodeProcess.Ports.free()).toList();
    this.nodes = new NodeProcess[size];
    this.extras = IntStream.range(0, size).mapToObj(i -> Map.<String, String>of())
        .collect(Collectors.toCollection(ArrayList::new));
    this.names = IntStream.range(0, size).mapToObj(i -> name + "-" + i).collect(Collectors.toCollection(ArrayList::new));
  }

  /** Starts every node at once and waits until each sees all of them up. */
  LoopbackCluster start() throws Exception {
    startAll();
    ApiClient admin = new ApiClient(ports.get(0).httpUrl(), TestNode.PLATFORM_KEY);
    ApiClient.Response created = admin.postJson("/api/v1/tenants", Map.of("tenant_id", TENANT, "name", TENANT));
    assertEquals(201, created.status(), () -> created.body().toString());
    tenantKey = TestNode.newKey(admin, TENANT, "admin");
    return this;
  }

  /** After every node stopped: starts them all again (a whole-cluster restart). */
  void restartAll() throws Exception {
    for (int i = 0; i < nodes.length; i++) names.set(i, names.get(i) + "r");
    startAll();
  }

  private void startAll() throws Exception {
    ExecutorService starts = Executors.newFixedThreadPool(nodes.length);
    try {
      List<Future<NodeProcess>> started = new ArrayList<>();
      for (int i = 0; i < nodes.length; i++) {
        int n = i;
        started.add(starts.submit(() -> startNode(n)));
      }
      for (int i = 0; i < nodes.length; i++) nodes[i] = started.get(i).get();
    } finally {
      starts.shutdownNow();
    }
    awaitMembersUp(0, nodes.length);
  }

  private NodeProcess startNode(int i) throws Exception {
    Map<String, String> all = new HashMap<>(env);
    all.put("ORRERY_DB_URL", db.jdbcUrl());
    all.put("ORRERY_DB_USER", db.user());
    all.put("ORRERY_DB_PASSWORD", db.password());
    all.put("ORRERY_DATA_DIR", BuildDirectory.newTempDirectory("orrery-cluster-node").toString());
    all.put("ORRERY_ADMIN_KEY", TestNode.PLATFORM_KEY);
    all.put("ORRERY_SEED_NODES", ports.stream().map(NodeProcess.Ports::clusterAddress).collect(Collectors.joining(",")));
    all.put("ORRERY_RATE_LIMIT_PER_MINUTE", "1000000");
    all.putAll(extras.get(i));
    return NodeProcess.serve(names.get(i), ports.get(i), all, List.of());
  }

  /**
   * Starts node {@code i} again (after it stopped) with {@code extra} settings, e.g. a new app-version,
   * which it keeps for later restarts.
   */
  void restart(int i, Map<String, String> extra) throws Exception {
    names.set(i, names.get(i) + "r");
    extras.set(i, Map.copyOf(extra));
    nodes[i] = startNode(i);
  }

  NodeProcess node(int i) {
    return nodes[i];
  }

  NodeProcess.Ports ports(int i) {
    return ports.get(i);
  }

  int size() {
    return nodes.length;
  }

  ApiClient api(int i) {
    return new ApiClient(ports.get(i).httpUrl(), tenantKey);
  }

  /** Management's view from node {@code i}: members by status. */
  Map<String, String> members(int i) {
    JsonNode body = new ApiClient(ports.get(i).managementUrl(), null).get("/cluster/members").body();
    Map<String, String> members = new HashMap<>();
    for (JsonNode m : body.get("members")) members.put(m.get("node").asText(), m.get("status").asText());
    return members;
  }

  /** Management's {@code /ready} of node {@code i}; false when it does not answer. */
  boolean ready(int i) {
    try {
      return new ApiClient(ports.get(i).managementUrl(), null).get("/ready").status() == 200;
    } catch (RuntimeException e) {
      return false;
    }
  }

  void awaitMembersUp(int observer, int expected) {
    Eventually.within(java.time.Duration.ofSeconds(90), () -> {
      Map<String, String> members = members(observer);
      long up = members.values().stream().filter("Up"::equals).count();
      assertEquals(expected, up, () -> "members seen by node " + observer + ": " + members);
      assertEquals(expected, members.size(), () -> "members seen by node " + observer + ": " + members);
    });
  }

  @Override
  public void close() {
    for (NodeProcess n : nodes) if (n != null) n.destroy();
  }
}
