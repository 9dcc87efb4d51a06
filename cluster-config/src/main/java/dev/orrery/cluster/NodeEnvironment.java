package dev.orrery.cluster;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Every environment variable a node reads, with what it sets: the one list that deployment manifests
 * (k8s/), the docs and {@code NodeEnvironmentTest} check against. A variable read anywhere else (a
 * {@code ${?NAME}} in a module's configuration, a name in code) must be listed here, and the test fails
 * until it is.
 */
public final class NodeEnvironment {
  private NodeEnvironment() {}

  /** Name → what it sets. */
  public static final Map<String, String> VARIABLES = new TreeMap<>(Map.ofEntries(
      Map.entry("ORRERY_HTTP_HOST", "interface of the HTTP edge (127.0.0.1)"),
      Map.entry("ORRERY_HTTP_PORT", "port of the HTTP edge (8080)"),
      Map.entry("ORRERY_CLUSTER_HOST", "this node's cluster (Artery) address, as the others reach it (127.0.0.1)"),
      Map.entry("ORRERY_CLUSTER_PORT", "cluster (Artery) port (25520)"),
      Map.entry("ORRERY_MANAGEMENT_HOST", "Pekko Management's address, as the others reach it (127.0.0.1)"),
      Map.entry("ORRERY_MANAGEMENT_BIND_HOST", "interface management binds (its address when unset)"),
      Map.entry("ORRERY_MANAGEMENT_PORT", "Pekko Management's port: /alive, /ready, bootstrap (8558)"),
      Map.entry("ORRERY_SEED_NODES", "host:port,... of seed nodes"),
      Map.entry("ORRERY_DISCOVERY", "config or kubernetes-api: join through Cluster Bootstrap"),
      Map.entry("ORRERY_CONTACT_POINTS", "host:management-port,... for discovery config"),
      Map.entry("ORRERY_SERVICE_NAME", "the service whose pods bootstrap finds (orrery; pods labelled app=<name>)"),
      Map.entry("ORRERY_REQUIRED_CONTACT_POINTS", "contact points seen before a new cluster forms (2)"),
      Map.entry("ORRERY_APP_VERSION", "the cluster app-version (the build's version)"),
      Map.entry("ORRERY_SBR_STRATEGY", "keep-majority (default) or lease-majority"),
      Map.entry("ORRERY_SBR_STABLE_AFTER", "how long membership is stable before the split-brain resolver acts (7s)"),
      Map.entry("ORRERY_FAILURE_DETECTOR_PAUSE", "heartbeats a member may miss before it is unreachable (1s)"),
      Map.entry("ORRERY_DOWN_DEAD_PROCESSES", "down an unreachable member whose port refuses connections at once (on)"),
      Map.entry("ORRERY_DOWN_REMOVAL_MARGIN", "how long a downed member's shards wait to start elsewhere (200ms)"),
      Map.entry("ORRERY_LOG_FORMAT", "text (default) or json: one JSON object per line with the run's ids"),
      Map.entry("ORRERY_LOG_PROMPTS", "DEBUG logs each LLM step's prompt (logger dev.orrery.prompts); unset: never"),
      Map.entry("ORRERY_OTLP_ENDPOINT", "OTLP/HTTP collector base URL for traces (unset: no spans)"),
      Map.entry("OTEL_EXPORTER_OTLP_ENDPOINT", "the same, by OpenTelemetry's name (ORRERY_OTLP_ENDPOINT wins)"),
      Map.entry("ORRERY_TRACE_SAMPLE_RATIO", "share of new traces kept, 0..1 (1.0)"),
      Map.entry("OTEL_SERVICE_NAME", "service.name of the spans (orrery)"),
      Map.entry("ORRERY_UNREADY_GRACE", "time a stopping node goes on serving after readiness turns off (2s)"),
      Map.entry("ORRERY_DATA_DIR", "where the embedded PostgreSQL keeps its data (./orrery-data)"),
      Map.entry("ORRERY_DB_URL", "JDBC URL of an external PostgreSQL (unset: the embedded one)"),
      Map.entry("ORRERY_DB_USER", "database user"),
      Map.entry("ORRERY_DB_PASSWORD", "database password"),
      Map.entry("ORRERY_DB_PORT", "port of the embedded PostgreSQL (a free one)"),
      Map.entry("ORRERY_ADMIN_KEY", "the platform admin key (unset: one is minted and printed on first start)"),
      Map.entry("ORRERY_JWT_SECRET", "HS256 secret of the tokens the edge issues and accepts"),
      Map.entry("ORRERY_JWT_RS256_PUBLIC_KEY_FILE", "RS256 public key (PEM) of accepted tokens"),
      Map.entry("ORRERY_JWT_JWKS_FILE", "JWKS file of accepted tokens"),
      Map.entry("ORRERY_RATE_LIMIT_PER_MINUTE", "requests per minute per API key"),
      Map.entry("ORRERY_SETTLEMENT_BATCHES", "on/off: a ledger batch's settlements as one journal event"),
      Map.entry("ORRERY_AGENTS_DIR", "directory of agent definitions loaded beside the bundled ones"),
      Map.entry("ORRERY_TOOLS_WORK_DIR", "where sandboxed tools get their scratch directories"),
      Map.entry("ORRERY_SIM_LATENCY_MS", "latency of the simulated provider"),
      Map.entry("ORRERY_SIM_FAILURE_RATE", "failure rate of the simulated provider"),
      Map.entry("ORRERY_SIM_SEED", "seed of the simulated provider's failures"),
      Map.entry("OPENAI_API_KEY", "an OpenAI-compatible provider's key"),
      Map.entry("OPENAI_BASE_URL", "its base URL"),
      Map.entry("ANTHROPIC_API_KEY", "Anthropic's key"),
      Map.entry("ANTHROPIC_BASE_URL", "its base URL"),
      Map.entry("OLLAMA_URL", "an Ollama server"),
      Map.entry("OLLAMA_MODEL", "the model to use on it")));

  /** Read by the CLI ({@code orrery runs ...}), not by a node. */
  public static final Set<String> CLIENT_VARIABLES = Set.of("ORRERY_URL", "ORRERY_API_KEY");

  /** Secrets: a manifest puts these in a Secret, never in a ConfigMap. */
  public static final Set<String> SECRETS = Set.of("ORRERY_DB_PASSWORD", "ORRERY_ADMIN_KEY", "ORRERY_JWT_SECRET",
      "OPENAI_API_KEY", "ANTHROPIC_API_KEY");
}
