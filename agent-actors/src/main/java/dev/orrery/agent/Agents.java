package dev.orrery.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.agent.definition.AgentCatalog;
import dev.orrery.agent.definition.AgentDefinition;
import dev.orrery.agent.definition.AgentRegistry;
import dev.orrery.agent.definition.AgentVersion;
import dev.orrery.agent.instance.AgentInstance;
import dev.orrery.agent.instance.AgentSettings;
import dev.orrery.agent.instance.AgentTools;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.port.AgentAnswer;
import dev.orrery.core.port.AgentFailure;
import dev.orrery.core.port.AgentPort;
import dev.orrery.core.port.LlmPort;
import dev.orrery.core.port.StepFailure;
import dev.orrery.core.workflow.OutputSchemas;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;

/**
 * The node's agents: the catalog every tenant sees, each tenant's created versions (its
 * {@link AgentRegistry}), and executions on sharded {@link AgentInstance}s. {@link #start} initialises both
 * entity types; the edge and workflow steps use this object and nothing below it.
 */
public final class Agents implements AgentPort {
  private static final Pattern INSTANCE_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}");

  private final ActorSystem<?> system;
  private final AgentCatalog catalog;
  private final AgentSettings settings;
  private final Duration askTimeout;
  private final Executor executor;

  private Agents(ActorSystem<?> system, AgentCatalog catalog, AgentSettings settings, Duration askTimeout) {
    this.system = system;
    this.catalog = catalog;
    this.settings = settings;
    this.askTimeout = askTimeout;
    this.executor = system.executionContext();
  }

  /**
   * @param askTimeout how long registry reads and writes may take (an execution waits
   *     {@code execute-timeout})
   */
  public static Agents start(ActorSystem<?> system, AgentCatalog catalog, LlmPort llm, AgentTools tools,
      AgentSettings settings, Clock clock, Duration askTimeout) {
    AgentRegistry.init(system, new AgentRegistry.Setup(catalog, clock, settings.idleTimeout()));
    AgentInstance.init(system, new AgentInstance.Setup(llm, tools, clock, settings));
    return new Agents(system, catalog, settings, askTimeout);
  }

  public AgentCatalog catalog() {
    return catalog;
  }

  /** How long an execution may take before its caller stops waiting. */
  public Duration executeTimeout() {
    return settings.executeTimeout();
  }

  /** Creates the next version of the definition's agent for a tenant and makes it active. */
  public CompletionStage<AgentVersion> create(String tenantId, AgentDefinition definition) {
    return registry(tenantId).askWithStatus(
        replyTo -> new AgentRegistry.Create(definition, replyTo), askTimeout);
  }

  /** The active version of every agent the tenant sees: its own latest, else the catalog's. By name. */
  public CompletionStage<List<AgentVersion>> active(String tenantId) {
    return tenantVersions(tenantId).thenApply(own -> {
      Map<String, AgentVersion> active = new LinkedHashMap<>();
      for (AgentVersion v : catalog.all()) active.put(v.name(), v);
      for (AgentVersion v : own) active.put(v.name(), v); // oldest first: the last one wins
      return active.values().stream().sorted(Comparator.comparing(AgentVersion::name)).toList();
    });
  }

  /** Every version of one agent the tenant sees, oldest first; the last is the active one. */
  public CompletionStage<List<AgentVersion>> versions(String tenantId, String name) {
    return tenantVersions(tenantId).thenApply(own -> {
      List<AgentVersion> versions = new ArrayList<>();
      catalog.get(name).ifPresent(versions::add);
      own.stream().filter(v -> v.name().equals(name)).forEach(versions::add);
      if (versions.isEmpty()) throw notFound(name);
      return versions;
    });
  }

  /** A version of an agent, or the active one when {@code version} is null. */
  public CompletionStage<AgentVersion> resolve(String tenantId, String name, Integer version) {
    return versions(tenantId, name).thenApply(versions -> {
      if (version == null) return versions.get(versions.size() - 1);
      return versions.stream().filter(v -> v.version() == version).findFirst().orElseThrow(() -> new StepFailure(
          ErrorCode.NOT_FOUND.name(), "agent '" + name + "' has no version " + version, false));
    });
  }

  /** One read of the tenant's registry: each named agent's active version, as a run pins it. */
  @Override
  public CompletionStage<Map<String, Integer>> activeVersions(String tenantId, Set<String> agentNames) {
    return tenantVersions(tenantId).thenApply(own -> {
      Map<String, Integer> active = new LinkedHashMap<>();
      for (String name : agentNames) catalog.get(name).ifPresent(v -> active.put(name, v.version()));
      for (AgentVersion v : own) {
        if (agentNames.contains(v.name())) active.put(v.name(), v.version()); // oldest first: the last one wins
      }
      return active;
    });
  }

  @Override
  public CompletionStage<AgentAnswer> execute(String tenantId, String agentName, Integer version, String task,
      JsonNode context, String instanceId, String invocationId, String traceparent) {
    if (task == null || task.isBlank()) return failed(ErrorCode.INVALID_REQUEST, "a task description is required");
    if (instanceId != null && !INSTANCE_ID.matcher(instanceId).matches()) {
      return failed(ErrorCode.INVALID_REQUEST, "an instance id is 1-128 letters, digits, '_', '.', ':' or '-', "
          + "starting with a letter or digit, was '" + instanceId + "'");
    }
    String instance = instanceId != null ? instanceId : UUID.randomUUID().toString();
    String invocation = invocationId != null ? invocationId : UUID.randomUUID().toString();
    long started = System.nanoTime();
    // Metrics carry the name of an agent that exists: a request for any other name is "unknown".
    AtomicReference<String> known = new AtomicReference<>("unknown");
    return resolve(tenantId, agentName, version).thenComposeAsync(agent -> {
      known.set(agent.name());
      JsonNode inputSchema = agent.definition().inputSchema();
      if (inputSchema != null && context != null && !context.isNull()) {
        List<String> problems = OutputSchemas.validate(inputSchema, context);
        if (!problems.isEmpty()) {
          throw new StepFailure(ErrorCode.INVALID_REQUEST.name(), "the context does not satisfy agent '" + agentName
              + "'s input_schema: " + String.join("; ", problems), false);
        }
      }
      return ClusterSharding.get(system)
          .entityRefFor(AgentInstance.KEY, AgentInstance.entityId(tenantId, instance))
          .<AgentAnswer>askWithStatus(replyTo -> new AgentInstance.Invoke(invocation, agent, task, context, traceparent,
              replyTo),
              settings.executeTimeout());
    }, executor).handle((answer, error) -> {
      AgentMetrics.record(tenantId, known.get(), System.nanoTime() - started, answer, error);
      if (error != null) throw asFailure(error);
      if (!answer.succeeded()) {
        throw new AgentFailure(answer);
      }
      return answer;
    });
  }

  private CompletionStage<List<AgentVersion>> tenantVersions(String tenantId) {
    return registry(tenantId).<AgentRegistry.Versions>askWithStatus(AgentRegistry.ListVersions::new, askTimeout)
        .thenApply(AgentRegistry.Versions::versions);
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<AgentRegistry.Command> registry(String tenantId) {
    return ClusterSharding.get(system).entityRefFor(AgentRegistry.KEY, tenantId);
  }

  private static StepFailure notFound(String name) {
    return new StepFailure(ErrorCode.NOT_FOUND.name(), "no agent named '" + name + "'", false);
  }

  private static <T> CompletionStage<T> failed(ErrorCode code, String message) {
    return CompletableFuture.failedFuture(new StepFailure(code.name(), message, false));
  }

  /** Rejections of the entities keep their code; anything else passes through unchanged. */
  private static RuntimeException asFailure(Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    if (t instanceof StatusReply.ErrorMessage e) {
      String code = ErrorCode.codeOf(e.getMessage()).map(Enum::name).orElse(ErrorCode.INTERNAL.name());
      return new StepFailure(code, ErrorCode.messageOf(e.getMessage()), false);
    }
    return t instanceof RuntimeException r ? r : new CompletionException(t);
  }
}
