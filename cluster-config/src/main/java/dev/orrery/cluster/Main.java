package dev.orrery.cluster;

import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.cluster.db.EmbeddedDatabase;
import dev.orrery.cluster.db.SchemaMigration;
import dev.orrery.edge.cli.RunsCommand;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code orrery} command. */
@Command(name = "orrery", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "A durable, multi-tenant runtime for AI-agent runs.",
    subcommands = {Main.Serve.class, Main.Db.class, RunsCommand.class})
public final class Main implements Runnable {

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).execute(args);
    if (code != 0) System.exit(code);
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }

  /** The build's version, as the cluster's app-version also is by default. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"orrery " + ClusterJoin.buildVersion()};
    }
  }

  /**
   * {@code orrery db}: the embedded PostgreSQL on its own, with the schema applied, for several nodes on one
   * machine to share (bin/local-cluster). It runs until SIGTERM or Ctrl-C, then stops the server cleanly.
   */
  @Command(name = "db", mixinStandardHelpOptions = true,
      description = "Run the embedded PostgreSQL alone (for a local cluster of several nodes).")
  static final class Db implements Callable<Integer> {
    @Option(names = "--data-dir", description = "Data directory (env ORRERY_DATA_DIR, default ./orrery-data).")
    Path dataDir;

    @Option(names = "--port", description = "PostgreSQL port on 127.0.0.1 (env ORRERY_DB_PORT, default 5432).")
    Integer port;

    @Override
    public Integer call() throws Exception {
      Map<String, String> env = System.getenv();
      Path dir = dataDir != null ? dataDir : Path.of(env.getOrDefault(DatabaseSettings.ENV_DATA_DIR, "orrery-data"));
      String portVariable = env.getOrDefault(DatabaseSettings.ENV_PORT, "");
      int p = port != null ? port : portVariable.isBlank() ? 5432 : Integer.parseInt(portVariable);
      EmbeddedDatabase db = EmbeddedDatabase.start(dir, p);
      java.util.concurrent.CountDownLatch stopped = new java.util.concurrent.CountDownLatch(1);
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        db.close();
        stopped.countDown();
      }, "stop-embedded-postgres"));
      String url = db.jdbcUrl("postgres");
      SchemaMigration.apply(url, EmbeddedDatabase.USER, "");
      System.out.println("PostgreSQL is up: " + url + " (user " + EmbeddedDatabase.USER + ", no password; data in "
          + dir.resolve("pg") + ")");
      System.out.println("Nodes use it with: ORRERY_DB_URL=" + url + " ORRERY_DB_USER=" + EmbeddedDatabase.USER
          + " orrery serve");
      stopped.await();
      return 0;
    }
  }

  /**
   * {@code orrery serve}: one node with no configuration needed. Each flag also reads its environment
   * variable; a flag given wins.
   */
  @Command(name = "serve", mixinStandardHelpOptions = true,
      description = "Start a node: a single-node cluster on loopback with an embedded PostgreSQL unless "
          + "an external database is configured.")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--http-port", description = "HTTP port (env ORRERY_HTTP_PORT, default 8080).")
    Integer httpPort;

    @Option(names = "--http-host", description = "HTTP interface (env ORRERY_HTTP_HOST, default 127.0.0.1).")
    String httpHost;

    @Option(names = "--cluster-port", description = "Cluster (Artery) port (env ORRERY_CLUSTER_PORT, default 25520).")
    Integer clusterPort;

    @Option(names = "--management-port",
        description = "Pekko Management port: /alive, /ready (env ORRERY_MANAGEMENT_PORT, default 8558).")
    Integer managementPort;

    @Option(names = "--seed-nodes", description = "host:port,... of the cluster's seed nodes (env ORRERY_SEED_NODES); "
        + "unset means a cluster of one (or Cluster Bootstrap when ORRERY_DISCOVERY is set).")
    String seedNodes;

    @Option(names = "--app-version", description = "This node's version in the cluster (env ORRERY_APP_VERSION, "
        + "default the build's): new shards go to the newest.")
    String appVersion;

    @Option(names = "--data-dir", description = "Data directory (env ORRERY_DATA_DIR, default ./orrery-data).")
    Path dataDir;

    @Option(names = "--db-url", description = "JDBC URL of an external PostgreSQL (env ORRERY_DB_URL); "
        + "unset means the embedded server.")
    String dbUrl;

    @Option(names = "--db-user", description = "Database user (env ORRERY_DB_USER).")
    String dbUser;

    @Option(names = "--db-password", description = "Database password (env ORRERY_DB_PASSWORD).")
    String dbPassword;

    @Option(names = "--sim-latency-ms", description = "Simulated provider latency (env ORRERY_SIM_LATENCY_MS, default 0).")
    Long simLatencyMs;

    @Option(names = "--sim-failure-rate", description = "Simulated provider failure rate 0..1 (env ORRERY_SIM_FAILURE_RATE).")
    Double simFailureRate;

    @Option(names = "--sim-seed", description = "Seed of simulated failures (env ORRERY_SIM_SEED).")
    Long simSeed;

    @Override
    public Integer call() throws Exception {
      Map<String, String> env = new HashMap<>(System.getenv());
      if (dataDir != null) env.put("ORRERY_DATA_DIR", dataDir.toString());
      if (dbUrl != null) env.put("ORRERY_DB_URL", dbUrl);
      if (dbUser != null) env.put("ORRERY_DB_USER", dbUser);
      if (dbPassword != null) env.put("ORRERY_DB_PASSWORD", dbPassword);
      DatabaseSettings database = DatabaseSettings.fromEnvironment(env, Path.of("orrery-data"));

      Map<String, Object> overrides = new HashMap<>();
      overrides.put("pekko.coordinated-shutdown.exit-jvm", "on");
      overrides.put("orrery.data-dir", database.dataDirectory().toString());
      if (httpPort != null) overrides.put("orrery.http.port", httpPort);
      if (httpHost != null) overrides.put("orrery.http.host", httpHost);
      if (clusterPort != null) overrides.put("pekko.remote.artery.canonical.port", clusterPort);
      if (managementPort != null) overrides.put("pekko.management.http.port", managementPort);
      if (seedNodes != null) overrides.put("orrery.cluster.seed-nodes", seedNodes);
      if (appVersion != null) overrides.put("orrery.cluster.app-version", appVersion);
      if (simLatencyMs != null) overrides.put("orrery.llm.simulated.latency-ms", simLatencyMs);
      if (simFailureRate != null) overrides.put("orrery.llm.simulated.failure-rate", simFailureRate);
      if (simSeed != null) overrides.put("orrery.llm.simulated.seed", simSeed);

      OrreryNode node = OrreryNode.start(new OrreryNode.Options(database, OrreryNode.overrides(overrides)));
      for (var key : node.mintedKeys()) {
        // Shown this once: only the key's hash is kept.
        System.out.println(key.tenantId().equals("platform")
            ? "Platform admin key (shown once, keep it; or set ORRERY_ADMIN_KEY): " + key.key()
            : "Admin key of tenant " + key.tenantId() + " (shown once, keep it): " + key.key());
      }
      System.out.println("Orrery is up: " + node.baseUrl() + "  (database: " + node.databaseDescription() + ")");
      System.out.println("LLM providers from " + node.llm().catalog().source());
      System.out.println("Try: curl -s " + node.baseUrl() + "/health");
      node.system().getWhenTerminated().toCompletableFuture().join();
      return 0;
    }
  }
}
