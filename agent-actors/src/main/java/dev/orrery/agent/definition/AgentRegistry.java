package dev.orrery.agent.definition;

import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.ErrorCode;
import dev.orrery.core.JsonSerializable;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/**
 * A tenant's agent definitions, every version kept, event-sourced and sharded as
 * {@code agent-registry|<tenantId>}. An entity rather than a table: versions are decided one at a time
 * (the next number after the last, with no race between two creates), they live in the same journal as
 * everything else (no schema of their own to migrate), and a tenant has few enough definitions that its
 * whole history folds in one small state (with a snapshot every 50 events).
 */
public final class AgentRegistry
    extends EventSourcedBehaviorWithEnforcedReplies<AgentRegistry.Command, AgentRegistry.Event,
        AgentRegistry.State> {

  public static final EntityTypeKey<Command> KEY = EntityTypeKey.create(Command.class, "agent-registry");

  /**
   * What the registry needs: the catalog (its versions come first), the clock for creation times, and
   * how long it stays in memory with nothing to do.
   */
  public record Setup(AgentCatalog catalog, Clock clock, Duration idleTimeout) {}

  // ---- protocol --------------------------------------------------------------------------------------

  public sealed interface Command extends JsonSerializable {}

  /** Create the next version of {@code definition}'s name and make it the active one. */
  public record Create(AgentDefinition definition, ActorRef<StatusReply<AgentVersion>> replyTo) implements Command {}

  /** Nothing happened for the idle timeout: the registry leaves memory (the next message recovers it). */
  public enum Idle implements Command { INSTANCE }

  /** Every version this tenant created, oldest first. */
  public record ListVersions(ActorRef<StatusReply<Versions>> replyTo) implements Command {}

  public record Versions(@JsonProperty("versions") List<AgentVersion> versions) implements JsonSerializable {
    public Versions {
      versions = List.copyOf(versions);
    }
  }

  public sealed interface Event extends JsonSerializable {}

  public record VersionCreated(
      @JsonProperty("name") String name,
      @JsonProperty("version") int version,
      @JsonProperty("definition") AgentDefinition definition,
      @JsonProperty("at") Instant at) implements Event {}

  /** Each name's versions in order; the last is the active one. */
  public record State(@JsonProperty("agents") Map<String, List<AgentVersion>> agents) implements JsonSerializable {
    public static final State EMPTY = new State(Map.of());

    public State {
      agents = Map.copyOf(agents);
    }

    int lastVersion(String name) {
      List<AgentVersion> versions = agents.get(name);
      return versions == null || versions.isEmpty() ? 0 : versions.get(versions.size() - 1).version();
    }

    State apply(Event event) {
      if (!(event instanceof VersionCreated e)) return this;
      Map<String, List<AgentVersion>> next = new TreeMap<>(agents);
      List<AgentVersion> versions = new ArrayList<>(next.getOrDefault(e.name(), List.of()));
      versions.add(new AgentVersion(e.name(), e.version(), e.definition(), false, e.at()));
      next.put(e.name(), List.copyOf(versions));
      return new State(next);
    }

    List<AgentVersion> all() {
      List<AgentVersion> all = new ArrayList<>();
      new TreeMap<>(agents).values().forEach(all::addAll);
      return all;
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------------

  public static void init(ActorSystem<?> system, Setup setup) {
    ClusterSharding.get(system).init(Entity.of(KEY, ctx -> create(ctx.getEntityId(), setup, ctx.getShard())));
  }

  /** Outside sharding (tests): an idle registry stops itself. */
  public static Behavior<Command> create(String tenantId, Setup setup) {
    return create(tenantId, setup, null);
  }

  /** @param shard the shard to ask for passivation, or null outside sharding */
  public static Behavior<Command> create(String tenantId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.setup(ctx -> {
      ctx.setReceiveTimeout(setup.idleTimeout(), Idle.INSTANCE);
      return new AgentRegistry(tenantId, setup, shard, ctx);
    });
  }

  private final Setup setup;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final ActorContext<Command> ctx;

  private AgentRegistry(String tenantId, Setup setup, ActorRef<ClusterSharding.ShardCommand> shard,
      ActorContext<Command> ctx) {
    super(PersistenceId.ofUniqueId(KEY.name() + "|" + tenantId));
    this.setup = setup;
    this.shard = shard;
    this.ctx = ctx;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(50, 2);
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    var builder = newCommandHandlerWithReplyBuilder().forAnyState();
    builder.onCommand(Create.class, this::onCreate);
    builder.onCommand(ListVersions.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(
        new Versions(s.all()))));
    builder.onCommand(Idle.class, (s, c) -> {
      if (shard == null) return Effect().stop().thenNoReply();
      shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
      return Effect().noReply();
    });
    return builder.build();
  }

  private ReplyEffect<Event, State> onCreate(State s, Create c) {
    String name = c.definition().name();
    int bundled = setup.catalog().get(name).map(AgentVersion::version).orElse(0);
    int next = Math.max(bundled, s.lastVersion(name)) + 1;
    List<AgentVersion> versions = s.agents().getOrDefault(name, List.of());
    if (!versions.isEmpty() && versions.get(versions.size() - 1).definition().equals(c.definition())) {
      // A retried create of the same definition: the version it made, not another one.
      return Effect().reply(c.replyTo(), StatusReply.success(versions.get(versions.size() - 1)));
    }
    if (next > 10_000) {
      return Effect().reply(c.replyTo(), StatusReply.error(ErrorCode.CONFLICT.reject(
          "agent '" + name + "' has reached the limit of 10000 versions")));
    }
    return Effect().persist(new VersionCreated(name, next, c.definition(), setup.clock().instant()))
        .thenReply(c.replyTo(), after -> StatusReply.success(after.agents().get(name).get(after.agents().get(name)
            .size() - 1)));
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onAnyEvent(State::apply);
  }
}
