package dev.orrery.cluster.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.agent.instance.AgentTools;
import dev.orrery.cluster.OrreryNode;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunIds;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.stream.RunTopics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A real node in the test JVM: its own actor system (cluster of one), HTTP on a free loopback port, and
 * the journal in the test class's own database on the shared embedded PostgreSQL.
 */
public final class TestNode implements AutoCloseable {
  /** The test databases' demo admin keys: minted by a class's first node, needed again by its restarts. */
  private static final Map<String, String> DEMO_KEYS = new ConcurrentHashMap<>();
  /** The platform admin key every test node is configured with. */
  public static final String PLATFORM_KEY = "test-platform-admin-key";

  private final OrreryNode node;
  private final ApiClient api;

  private TestNode(OrreryNode node, String demoKey) {
    this.node = node;
    this.api = new ApiClient(node.baseUrl(), demoKey);
  }

  public static TestNode start(SharedPostgres.TestDatabase db, Map<String, ?> settings) throws Exception {
    return start(db, settings, Map.of());
  }

  /** @param env the node's environment for provider discovery (OPENAI_BASE_URL …): only these, not the JVM's */
  public static TestNode start(SharedPostgres.TestDatabase db, Map<String, ?> settings, Map<String, String> env)
      throws Exception {
    return start(db, settings, env, null);
  }

  public static TestNode start(SharedPostgres.TestDatabase db, Map<String, ?> settings, Map<String, String> env,
      RunListener listener) throws Exception {
    return start(db, settings, env, listener, null);
  }

  /** @param agentTools the tools the node's agents may call, or null for none */
  public static TestNode start(SharedPostgres.TestDatabase db, Map<String, ?> settings, Map<String, String> env,
      RunListener listener, AgentTools agentTools) throws Exception {
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("orrery.http.port", 0);
    overrides.put("pekko.remote.artery.canonical.port", 0);
    overrides.put("pekko.management.http.port", 0);
    // No load balancer to tell: a stopping test node closes its port at once.
    overrides.put("orrery.shutdown.unready-grace", "0s");
    // Kamon is one per JVM and takes the first node's settings: snapshots often enough for a test to see.
    overrides.put("kamon.metric.tick-interval", "200ms");
    overrides.put("pekko.coordinated-shutdown.exit-jvm", "off");
    overrides.put("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook", "off");
    overrides.put("orrery.auth.admin-key", PLATFORM_KEY);
    // Tests drive the API far harder than a person: the per-key limit is tested on its own.
    overrides.put("orrery.auth.rate-limit.requests-per-minute", 1_000_000);
    overrides.putAll(settings);
    Path dataDir = BuildDirectory.newTempDirectory("orrery-test-node");
    var database = new DatabaseSettings(db.jdbcUrl(), db.user(), db.password(), dataDir, 0);
    OrreryNode node = OrreryNode.start(new OrreryNode.Options(database, OrreryNode.overrides(overrides), listener, env,
        agentTools));
    node.mintedKeys().stream().filter(k -> k.tenantId().equals("demo"))
        .forEach(k -> DEMO_KEYS.put(db.jdbcUrl(), k.key()));
    return new TestNode(node, DEMO_KEYS.get(db.jdbcUrl()));
  }

  /**
   * A further node of {@code seed}'s cluster, on the same database: it joins the seed instead of forming a
   * cluster of its own. Returns once both see each other as up.
   */
  public static TestNode startJoining(TestNode seed, SharedPostgres.TestDatabase db, Map<String, ?> settings)
      throws Exception {
    Map<String, Object> joining = new HashMap<>(settings);
    joining.put("pekko.cluster.seed-nodes", List.of(seed.clusterAddress()));
    TestNode node = start(db, joining);
    for (TestNode n : List.of(seed, node)) {
      TestProbe<Object> probe = TestProbe.create(n.node.system());
      probe.awaitAssert(Duration.ofSeconds(30), Duration.ofMillis(100), () -> {
        var cluster = Cluster.get(n.node.system());
        long up = StreamSupport.stream(cluster.state().getMembers().spliterator(), false)
            .filter(m -> m.status() == MemberStatus.up()).count();
        assertTrue(up >= 2, () -> "members up seen by " + cluster.selfMember().address() + ": " + up);
        return null;
      });
    }
    return node;
  }

  /** Whether the demo tenant's run lives on this node, from Cluster Sharding's own view of its local shards. */
  public boolean hostsRun(String runId) {
    var system = node.system();
    TestProbe<ShardRegion.CurrentShardRegionState> probe = TestProbe.create(system);
    ClusterSharding.get(system).shardState().tell(new GetShardRegionState(RunEntity.KEY, probe.getRef()));
    String entityId = RunIds.entityId("demo", runId);
    return probe.receiveMessage(Duration.ofSeconds(10)).getShards().stream()
        .anyMatch(shard -> shard.getEntityIds().contains(entityId));
  }

  /** This node's address in the cluster ({@code pekko://orrery@127.0.0.1:port}). */
  public String clusterAddress() {
    return Cluster.get(node.system()).selfMember().address().toString();
  }

  /** How many runs this node follows live, and for how many stream subscribers (its "run-topics" actor). */
  public RunTopics.Stats streamStats() {
    var system = node.system();
    try {
      ActorRef<RunTopics.Command> topics = Adapter.toTyped(system.classicSystem()
          .actorSelection("/system/run-topics").resolveOne(Duration.ofSeconds(5)).toCompletableFuture()
          .get(10, TimeUnit.SECONDS));
      return AskPattern.<RunTopics.Command, RunTopics.Stats>ask(topics, RunTopics.GetStats::new,
          Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("could not ask the node's run-topics actor", e);
    }
  }

  /** A client with the platform admin key. */
  public ApiClient platformAdmin() {
    return api.as(PLATFORM_KEY);
  }

  /**
   * Creates a tenant through the API, as the platform admin, and returns a client with a new key of the
   * given role of it.
   */
  public ApiClient newTenant(String tenantId, String role) {
    ApiClient.Response created = platformAdmin().postJson("/api/v1/tenants", Map.of("tenant_id", tenantId));
    assertTrue(created.status() == 201, () -> "tenant " + tenantId + ": " + created.status() + " " + created.body());
    return api.as(newKey(platformAdmin(), tenantId, role));
  }

  /** A new key of a tenant, issued by {@code admin} (an admin of it, or the platform admin). */
  public static String newKey(ApiClient admin, String tenantId, String role) {
    ApiClient.Response key = admin.postJson("/api/v1/tenants/" + tenantId + "/keys", Map.of("role", role));
    assertTrue(key.status() == 201, () -> "key of " + tenantId + ": " + key.status() + " " + key.body());
    return key.body().get("key").asText();
  }

  public OrreryNode node() {
    return node;
  }

  public ApiClient api() {
    return api;
  }

  /** Submits a run and returns its id, asserting it was accepted. */
  public String submit(Object body) {
    ApiClient.Response r = api.postJson("/api/v1/runs", body);
    assertTrue(r.status() == 201, () -> "expected 201, got " + r.status() + ": " + r.body());
    return r.body().get("run_id").asText();
  }

  /** Polls {@code GET /runs/{id}} until the run is in one of the given statuses. */
  public JsonNode awaitStatus(String runId, Set<String> statuses, Duration max) {
    var last = new AtomicReference<JsonNode>();
    TestProbe<Object> probe = TestProbe.create(node.system());
    probe.awaitAssert(max, Duration.ofMillis(50), () -> {
      ApiClient.Response r = api.get("/api/v1/runs/" + runId);
      last.set(r.body());
      assertTrue(r.status() == 200 && statuses.contains(r.body().path("status").asText()),
          () -> "run " + runId + " is " + r.body());
      return null;
    });
    return last.get();
  }

  /** Retries {@code check} (an assertion) until it passes or {@code max} has passed, with the testkit's probe. */
  public void eventually(Duration max, Runnable check) {
    TestProbe.create(node.system()).awaitAssert(max, Duration.ofMillis(50), () -> {
      check.run();
      return null;
    });
  }

  public JsonNode awaitFinished(String runId, Duration max) {
    return awaitStatus(runId, Set.of("SUCCEEDED", "FAILED", "CANCELLED"), max);
  }

  public JsonNode journal(String runId) {
    ApiClient.Response r = api.get("/api/v1/runs/" + runId + "/journal");
    assertTrue(r.status() == 200, () -> "journal of " + runId + ": " + r.status() + " " + r.body());
    return r.body().get("events");
  }

  @Override
  public void close() throws Exception {
    node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }
}
