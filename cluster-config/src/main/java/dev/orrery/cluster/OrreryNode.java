package dev.orrery.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.orrery.agent.Agents;
import dev.orrery.agent.definition.AgentCatalog;
import dev.orrery.agent.instance.AgentSettings;
import dev.orrery.agent.instance.AgentTools;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.cluster.db.EmbeddedDatabase;
import dev.orrery.cluster.db.SchemaMigration;
import dev.orrery.cluster.metrics.NodeGauges;
import dev.orrery.cluster.metrics.NodeMetrics;
import dev.orrery.cluster.metrics.RunMetrics;
import dev.orrery.cluster.tracing.NodeTracing;
import dev.orrery.cluster.tracing.RunSpans;
import dev.orrery.cluster.tracing.TracingSettings;
import dev.orrery.core.Instrumentation;
import dev.orrery.core.port.BudgetPort;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.readside.RunIndex;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.run.RunSettings;
import dev.orrery.core.run.WorkflowCache;
import dev.orrery.core.stream.RunFeed;
import dev.orrery.core.stream.RunJournal;
import dev.orrery.core.stream.RunTopics;
import dev.orrery.core.stream.StreamSettings;
import dev.orrery.core.workflow.WorkflowCatalog;
import dev.orrery.edge.AgentRoutes;
import dev.orrery.edge.AuthRoutes;
import dev.orrery.edge.BudgetRoutes;
import dev.orrery.edge.EdgeSettings;
import dev.orrery.edge.HttpEdge;
import dev.orrery.edge.JsonRoutes;
import dev.orrery.edge.ReportRoutes;
import dev.orrery.edge.RunRoutes;
import dev.orrery.edge.TenantRoutes;
import dev.orrery.edge.ToolRoutes;
import dev.orrery.edge.audit.AuditLog;
import dev.orrery.edge.auth.ApiKeys;
import dev.orrery.edge.auth.AuthDirectives;
import dev.orrery.edge.auth.AuthSettings;
import dev.orrery.edge.auth.Authenticator;
import dev.orrery.edge.auth.JwtService;
import dev.orrery.edge.auth.KeyRateLimiter;
import dev.orrery.edge.gateway.ChatCompletionsRoutes;
import dev.orrery.edge.gateway.GatewayModel;
import dev.orrery.ledger.budget.BudgetLedger;
import dev.orrery.ledger.budget.BudgetedLlmPort;
import dev.orrery.ledger.budget.LedgerSettings;
import dev.orrery.ledger.tenant.ActiveRuns;
import dev.orrery.ledger.tenant.Tenants;
import dev.orrery.ledger.usage.UsageProjection;
import dev.orrery.ledger.usage.UsageQueries;
import dev.orrery.router.provider.AnthropicAdapter;
import dev.orrery.router.provider.OpenAiAdapter;
import dev.orrery.router.provider.ProviderAdapter;
import dev.orrery.router.route.LlmRouter;
import dev.orrery.router.route.ProviderSettings;
import dev.orrery.router.sim.SimulatedAdapter;
import dev.orrery.sandbox.ToolSandbox;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.management.HealthCheckSettings;
import org.apache.pekko.management.javadsl.HealthChecks;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Orrery node: database, actor system, sharded runs and the HTTP edge. {@link #start} brings them up
 * in that order; coordinated shutdown takes them down in reverse, stopping the embedded database only
 * after the entities have persisted what they were persisting.
 */
public final class OrreryNode {
  private static final Logger log = LoggerFactory.getLogger(OrreryNode.class);

  /**
   * @param overrides configuration that wins over application.conf (flags, tests)
   * @param listener told of every persisted batch of run events, or null
   * @param env the environment the providers are read from (OPENAI_API_KEY …), or null for the process's
   * @param agentTools the tools agents may call, or null for the node's tool sandbox (tests script their own)
   */
  public record Options(DatabaseSettings database, Config overrides, RunListener listener, Map<String, String> env,
      AgentTools agentTools) {
    public Options {
      if (database == null) throw new IllegalArgumentException("database settings are required");
      overrides = overrides == null ? ConfigFactory.empty() : overrides;
      listener = listener == null ? RunListener.NONE : listener;
      env = env == null ? System.getenv() : Map.copyOf(env);
    }

    public Options(DatabaseSettings database, Config overrides, RunListener listener, Map<String, String> env) {
      this(database, overrides, listener, env, null);
    }

    public Options(DatabaseSettings database, Config overrides) {
      this(database, overrides, null, null, null);
    }
  }

  private final ActorSystem<Void> system;
  private final ServerBinding binding;
  private final LlmRouter llm;
  private final String databaseDescription;
  private final List<Bootstrap.MintedKey> mintedKeys;
  private final BudgetLedger ledger;
  private final Tenants tenants;
  private final Optional<String> management;

  private OrreryNode(ActorSystem<Void> system, ServerBinding binding, LlmRouter llm, String databaseDescription,
      List<Bootstrap.MintedKey> mintedKeys, BudgetLedger ledger, Tenants tenants, Optional<String> management) {
    this.management = management;
    this.ledger = ledger;
    this.tenants = tenants;
    this.system = system;
    this.binding = binding;
    this.llm = llm;
    this.databaseDescription = databaseDescription;
    this.mintedKeys = mintedKeys;
  }

  public static OrreryNode start(Options options) throws Exception {
    DatabaseSettings db = options.database();
    if (db.embedded() && joinsOthers(options.overrides().withFallback(ConfigFactory.load()))) {
      // Each node would keep its own journal: runs would never move between them.
      throw new IllegalArgumentException("the nodes of a cluster share one PostgreSQL: set ORRERY_DB_URL "
          + "(orrery db runs the embedded one on its own for a local cluster)");
    }
    EmbeddedDatabase embedded = null;
    String url = db.url();
    String user = db.user();
    String password = db.password();
    if (db.embedded()) {
      embedded = EmbeddedDatabase.start(db.dataDirectory(), db.embeddedPort());
      url = embedded.jdbcUrl("postgres");
      user = "postgres";
      password = "";
    }
    try {
      SchemaMigration.apply(url, user, password);
      Config config = options.overrides()
          .withFallback(databaseConfig(url, user, password))
          .withFallback(ConfigFactory.load())
          .resolve();
      config = ClusterJoin.settings(config).withFallback(config);
      config = ConfigFactory.parseMap(Map.of("pekko-persistence-jdbc.shared-databases.slick.db.connectionInitSql",
          PauseFence.sessionSetup(config))).withFallback(config);
      if (embedded != null) {
        // The embedded server's fast shutdown runs in this phase; an external database needs no time there.
        config = ConfigFactory.parseString("pekko.coordinated-shutdown.phases.before-actor-system-terminate.timeout = 30s")
            .withFallback(config);
      }
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "orrery", config);
      EmbeddedDatabase toStop = embedded;
      if (toStop != null) {
        // After sharding has stopped the entities (their last persists are done), before the system ends.
        CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "stop-embedded-postgres", () -> CompletableFuture.supplyAsync(() -> {
              toStop.close();
              return Done.getInstance();
            }, system.dispatchers().lookup(DispatcherSelector.blocking())));
      }
      return assemble(system, options, url, user, password, 
          embedded == null ? "PostgreSQL at " + url : "embedded PostgreSQL on port " + embedded.port()
              + " (data in " + db.dataDirectory().resolve("pg") + ")");
    } catch (Exception | Error e) {
      if (embedded != null) embedded.close();
      throw e;
    }
  }

  private static OrreryNode assemble(ActorSystem<Void> system, Options options, String url, String user,
      String password, String databaseDescription) throws Exception {
    Config config = system.settings().config();
    boolean metrics = config.getBoolean("orrery.metrics.enabled");
    Instrumentation.enable(metrics);
    if (metrics) {
      NodeMetrics.start(config);
      system.getWhenTerminated().thenRun(NodeMetrics::stop);
    }
    String clusterNode = Cluster.get(system).selfMember().address().toString();
    boolean tracing = NodeTracing.start(TracingSettings.fromConfig(config), clusterNode);
    if (tracing) {
      // Before the system is gone, so the last spans are sent and a node started next in this JVM gets its own.
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "stop-tracing",
          () -> CompletableFuture.supplyAsync(() -> {
            NodeTracing.stop();
            return Done.getInstance();
          }, system.dispatchers().lookup(DispatcherSelector.blocking())));
    }
    NodeHealth health = NodeHealth.get(system);
    // Readiness goes off first on SIGTERM; the node goes on serving for unready-grace so that a load
    // balancer stops sending before the port closes (service-unbind), then requests drain and shards
    // hand off.
    Duration unreadyGrace = config.getDuration("orrery.shutdown.unready-grace");
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "readiness-off", () -> {
      health.drain();
      return org.apache.pekko.pattern.Patterns.after(unreadyGrace, system.classicSystem().scheduler(),
          system.executionContext(), () -> CompletableFuture.completedFuture(Done.getInstance()));
    });
    armPauseFence(system);
    Optional<String> management = ClusterJoin.start(system);
    DeadProcessDowning.start(system, DeadProcessDowning.Settings.fromConfig(config));
    LlmRouter llm = LlmRouter.start(system, config, options.env(), OrreryNode::adapterFor);
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "stop-llm-router", () -> {
      llm.stop();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    Clock clock = Clock.systemUTC();
    EdgeSettings edge = EdgeSettings.fromConfig(config);
    // Every LLM call, a run's step or the gateway's, reserves from its tenant's budgets first.
    LedgerSettings ledgerSettings = LedgerSettings.fromConfig(config);
    BudgetLedger ledger = BudgetLedger.start(system, ledgerSettings, clock);
    LlmPort budgeted = new BudgetedLlmPort(llm, ledger, system.executionContext(),
        ledgerSettings.maxBackgroundSettlements());
    Tenants tenants = new Tenants(system, edge.askTimeout());
    RunSettings runSettings = RunSettings.fromConfig(config);
    WorkflowCache workflows = new WorkflowCache(1024);
    // The sandboxed tools of tool nodes, agents and /api/v1/tools; it says at start whether this machine
    // can sandbox python and shell (and refuses to run them otherwise).
    ToolSandbox sandbox = ToolSandbox.fromConfig(config);
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "stop-tools", () -> {
      sandbox.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    // Agents: the bundled examples and the catalog directory (a bad file stops the start, naming it).
    String agentDirectory = config.getString("orrery.agents.directory");
    AgentCatalog agentCatalog = AgentCatalog.load(agentDirectory.isBlank() ? Optional.empty()
        : Optional.of(Path.of(agentDirectory)));
    AgentTools agentTools = options.agentTools() != null ? options.agentTools() : AgentTools.from(sandbox.port());
    Agents agents = Agents.start(system, agentCatalog, budgeted, agentTools,
        AgentSettings.fromConfig(config), clock, edge.askTimeout());
    log.info("Agents: {} in the catalog{}", agentCatalog.all().size(),
        agentDirectory.isBlank() ? " (the bundled examples)" : " (bundled and from " + agentDirectory + ")");
    // The read sides and the audit log have their own small pool beside the journal's.
    // Each session starts as the journal's do (PauseFence.sessionSetup, set where the config is built).
    HikariDataSource readSide = readSidePool(url, user, password,
        config.getString("pekko-persistence-jdbc.shared-databases.slick.db.connectionInitSql"));
    var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    String readJournal = config.getString("orrery.read-journal-plugin");
    UniqueKillSwitch usageProjection = UsageProjection.start(system, readJournal, readSide);
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceStop(), "stop-read-side", () -> {
      usageProjection.shutdown();
      readSide.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    RunIndex runIndex = new RunIndex(readSide, blocking);
    RunMetrics runMetrics = metrics ? new RunMetrics() : null;
    if (runMetrics != null) NodeGauges.start(system, runMetrics);
    RunEntity.init(system, new RunEntity.Setup(budgeted, clock, runSettings, workflows,
        options.listener().andThen(new ActiveRuns(tenants)).andThen(runIndex.writer(system))
            .andThen(runMetrics != null ? runMetrics : RunListener.NONE)
            .andThen(tracing ? new RunSpans(clusterNode) : RunListener.NONE),
        sandbox.port(), agents));

    ObjectMapper json = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
    try {
      AuthSettings authSettings = AuthSettings.fromConfig(config);
      JwtService jwt = new JwtService(authSettings, clock);
      String adminKey = config.getString("orrery.auth.admin-key");
      var authenticator = new Authenticator(system, tenants, jwt,
          adminKey.isBlank() ? Optional.empty() : Optional.of(ApiKeys.sha256Hex(adminKey)),
          config.getDuration("orrery.auth.key-cache-ttl"), ledger.news());
      var auditLog = new AuditLog(readSide, blocking, clock);
      var auth = new AuthDirectives(authenticator, KeyRateLimiter.perMinute(authSettings, clock), auditLog);
      var jsonRoutes = new JsonRoutes(json, edge.maxBodyBytes());
      var journal = new RunJournal(system, config.getString("orrery.read-journal-plugin"));
      StreamSettings streams = StreamSettings.fromConfig(config);
      var topics = system.systemActorOf(RunTopics.create(streams.renewInterval()), "run-topics", Props.empty());
      var tools = new ToolRoutes(sandbox.port(), auth, jsonRoutes);
      var api = new HttpEdge.Api(
          new RunRoutes(system, edge, new WorkflowCatalog(), workflows, journal,
              new RunFeed(journal, topics, streams), streams, runIndex, jsonRoutes,
              auth, tenants, tools::offers),
          new TenantRoutes(tenants, auth, jsonRoutes),
          new BudgetRoutes(tenants, auth, jsonRoutes),
          new AuthRoutes(authenticator, jwt, jsonRoutes),
          new ReportRoutes(new UsageQueries(readSide, blocking), auditLog, auth, jsonRoutes, clock),
          tools,
          new AgentRoutes(agents, auth, jsonRoutes, clock));
      var gateway = new ChatCompletionsRoutes(system, budgeted, gatewayModels(llm), llm.routeNames(), json, edge,
          auth);
      List<Bootstrap.MintedKey> minted = Bootstrap.run(tenants, config.getString("orrery.bootstrap.demo-tenant"),
          !adminKey.isBlank(), Duration.ofSeconds(30));
      ServerBinding binding = HttpEdge.bind(system, edge,
              HttpEdge.routes(json, api, gateway, readiness(system, health), NodeMetrics::scrape))
          .toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      RunKeeper.start(system, runIndex, RunKeeper.Settings.fromConfig(config, edge.askTimeout()));
      health.started(List.of(
          new NodeHealth.Part("database", () -> CompletableFuture.supplyAsync(() -> reachable(readSide), blocking))));
      return new OrreryNode(system, binding, llm, databaseDescription, minted, ledger, tenants, management);
    } catch (Exception e) {
      usageProjection.shutdown();
      readSide.close();
      system.terminate();
      throw e;
    }
  }

  /**
   * A pause long enough for the others to have downed this node (failure detection and half the
   * resolver's stable-after, while they need all of it) refuses journal writes and closes the fence for
   * good: the node downs itself, since its runs now live elsewhere. A shorter pause holds nothing: the
   * others cannot have taken its runs over (a frozen process's port still accepts connections, so the
   * dead-process prober leaves it to the resolver), and a refused write would stop the run for nothing.
   */
  private static void armPauseFence(ActorSystem<?> system) {
    Duration close = PauseFence.closeAfter(system.settings().config());
    Cluster cluster = Cluster.get(system);
    PauseFence.Breach breach = paused -> cluster.manager().tell(new Down(cluster.selfMember().address()));
    PauseFence.jvm().arm(close, breach);
    system.getWhenTerminated().thenRun(() -> PauseFence.jvm().disarm(breach));
  }

  /** Whether this node is configured to join other nodes (seed nodes or Cluster Bootstrap). */
  private static boolean joinsOthers(Config config) {
    return !config.getString("orrery.cluster.seed-nodes").isBlank()
        || !config.getString("orrery.cluster.discovery").isBlank()
        || !config.getStringList("pekko.cluster.seed-nodes").isEmpty();
  }

  /** The database of the journal and read sides answers (the read-side pool reaches the same server). */
  private static boolean reachable(HikariDataSource pool) {
    try (var connection = pool.getConnection()) {
      return connection.isValid(2);
    } catch (java.sql.SQLException e) {
      return false;
    }
  }

  /**
   * The edge's {@code /ready}: the same checks as management's (the member is Up, sharding's regions are
   * registered, and {@link NodeHealth}), or {@link NodeHealth} alone when management is off.
   */
  private static java.util.function.Supplier<CompletionStage<Boolean>> readiness(ActorSystem<?> system,
      NodeHealth health) {
    Config config = system.settings().config();
    if (!config.getBoolean("orrery.management.enabled")) return () -> health.ready(Duration.ofSeconds(2));
    var checks = new HealthChecks((ExtendedActorSystem) system.classicSystem(),
        HealthCheckSettings.create(config.getConfig("pekko.management.health-checks")));
    return () -> checks.ready().exceptionally(failure -> false);
  }

  /** What the gateway lists besides the routes: every model a configured provider serves. */
  private static List<GatewayModel> gatewayModels(LlmRouter router) {
    return router.models().stream().map(m -> new GatewayModel(m.model(), m.provider())).distinct().toList();
  }

  /** The wire protocol of each configured provider endpoint. */
  private static ProviderAdapter adapterFor(ProviderSettings settings, ActorSystem<?> system) {
    switch (settings.kind()) {
      case OPENAI:
        return new OpenAiAdapter(settings.name(), settings.baseUrl(), settings.apiKey(), system);
      case ANTHROPIC:
        return new AnthropicAdapter(settings.name(), settings.baseUrl(), settings.apiKey(), system);
      default:
        return SimulatedAdapter.create(settings.name(), settings.simulated(), system);
    }
  }

  private static HikariDataSource readSidePool(String url, String user, String password, String sessionSetup) {
    HikariConfig c = new HikariConfig();
    c.setConnectionInitSql(sessionSetup);
    c.setJdbcUrl(url);
    c.setUsername(user);
    c.setPassword(password == null ? "" : password);
    c.setMaximumPoolSize(4);
    c.setMinimumIdle(1);
    c.setPoolName("orrery-read-side");
    return new HikariDataSource(c);
  }

  /** The JDBC settings of the shared Slick database that the journal, snapshots and queries use. */
  private static Config databaseConfig(String url, String user, String password) {
    Map<String, Object> values = new HashMap<>();
    values.put("pekko-persistence-jdbc.shared-databases.slick.db.url", url);
    values.put("pekko-persistence-jdbc.shared-databases.slick.db.user", user);
    values.put("pekko-persistence-jdbc.shared-databases.slick.db.password", password == null ? "" : password);
    return ConfigFactory.parseMap(values);
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public int httpPort() {
    return binding.localAddress().getPort();
  }

  public String baseUrl() {
    return "http://" + binding.localAddress().getHostString() + ":" + httpPort();
  }

  /** Pekko Management's base URL ({@code /alive}, {@code /ready}, {@code /cluster/members}), if it runs. */
  public Optional<String> managementUrl() {
    return management;
  }

  public LlmRouter llm() {
    return llm;
  }

  /** The reservation protocol every LLM call of this node follows (benchmarks drive it directly). */
  public BudgetPort budgets() {
    return ledger;
  }

  public Tenants tenants() {
    return tenants;
  }

  public String databaseDescription() {
    return databaseDescription;
  }

  /** The admin keys this start minted (first start on an empty database only): shown once, never stored. */
  public List<Bootstrap.MintedKey> mintedKeys() {
    return mintedKeys;
  }

  /** Coordinated shutdown: stop accepting, drain, hand off, persist, stop the embedded database. */
  public CompletionStage<Done> stop() {
    return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason());
  }

  public static Config overrides(Map<String, ?> values) {
    Config c = ConfigFactory.empty();
    for (var e : values.entrySet()) {
      c = c.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    return c;
  }
}
