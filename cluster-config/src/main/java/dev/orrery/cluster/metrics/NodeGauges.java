package dev.orrery.cluster.metrics;

import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunIds;
import dev.orrery.ledger.tenant.BudgetGauges;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import kamon.Kamon;
import kamon.metric.Gauge;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * What this node holds, sampled as gauges once per metrics snapshot ({@code kamon.metric.tick-interval}):
 * {@code cluster_members{status}} (the cluster's members as this node sees them, by status: joining,
 * weakly_up, up, leaving, exiting, down, removed, preparing_for_shutdown, ready_for_shutdown; every status
 * has a series, at 0 when none is in it), {@code cluster_unreachable_members}, {@code
 * orrery_sharding_entities{type}} and {@code orrery_sharding_shards{type}} (the entities and shards this
 * node hosts, per shard type: run, tenant, agent …) and {@code orrery_runs_in_flight}. Each tick also
 * refreshes the budget gauges (a period's next window starts at zero) and tells {@link RunMetrics} which
 * runs this node's shards hold, so a run whose shard moved away is no longer counted here.
 *
 * <p>An actor with a timer, so nothing blocks: the cluster's state is a local read and the shard regions
 * answer {@code GetShardRegionState} as messages.
 */
public final class NodeGauges {
  private static final List<MemberStatus> STATUSES = List.of(MemberStatus.joining(), MemberStatus.weaklyUp(),
      MemberStatus.up(), MemberStatus.leaving(), MemberStatus.exiting(), MemberStatus.down(), MemberStatus.removed(),
      MemberStatus.shuttingDown(), MemberStatus.shutDown());

  private sealed interface Command {}

  private enum Tick implements Command { INSTANCE }

  /** A shard region's answer: what it hosted when it was asked ({@link System#nanoTime}). */
  private record Hosted(String type, long askedAt, ShardRegion.CurrentShardRegionState state) implements Command {}

  private record NotAnswered(String type, Throwable error) implements Command {}

  private final ActorContext<Command> ctx;
  private final RunMetrics runs;
  private final Clock clock;
  private final Duration interval;
  private final Map<MemberStatus, Gauge> members = new HashMap<>();
  private final Gauge unreachable = Kamon.gauge("cluster.unreachable.members").withoutTags();
  private final Gauge runsInFlight = Kamon.gauge("orrery.runs.in-flight").withoutTags();
  private final Map<String, Gauge> entities = new HashMap<>();
  private final Map<String, Gauge> shards = new HashMap<>();

  private NodeGauges(ActorContext<Command> ctx, RunMetrics runs, Clock clock, Duration interval) {
    this.ctx = ctx;
    this.runs = runs;
    this.clock = clock;
    this.interval = interval;
    for (MemberStatus s : STATUSES) members.put(s, Kamon.gauge("cluster.members").withTag("status", label(s)));
  }

  /** Starts sampling on {@code system} until it terminates. */
  public static void start(ActorSystem<?> system, RunMetrics runs) {
    var config = system.settings().config();
    Duration interval = config.getDuration("kamon.metric.tick-interval");
    system.systemActorOf(Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Tick.INSTANCE, Duration.ZERO, interval);
      return new NodeGauges(ctx, runs, Clock.systemUTC(), interval).behavior();
    })), "node-gauges", Props.empty());
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Hosted.class, this::onHosted)
        .onMessage(NotAnswered.class, this::onNotAnswered)
        .build();
  }

  private Behavior<Command> onTick() {
    var state = Cluster.get(ctx.getSystem()).state();
    Map<MemberStatus, Integer> counts = new HashMap<>();
    for (Member m : state.getMembers()) counts.merge(m.status(), 1, Integer::sum);
    members.forEach((status, gauge) -> gauge.update(counts.getOrDefault(status, 0)));
    unreachable.update(state.getUnreachable().size());
    runsInFlight.update(runs.inFlight());
    BudgetGauges.refresh(clock.instant());
    var shardState = ClusterSharding.get(ctx.getSystem()).shardState();
    for (String type : org.apache.pekko.cluster.sharding.ClusterSharding.get(ctx.getSystem().classicSystem())
        .getShardTypeNames()) {
      long asked = System.nanoTime();
      EntityTypeKey<Object> key = EntityTypeKey.create(Object.class, type);
      ctx.ask(ShardRegion.CurrentShardRegionState.class, shardState, interval,
          replyTo -> new GetShardRegionState(key, replyTo),
          (hosted, error) -> hosted != null ? new Hosted(type, asked, hosted) : new NotAnswered(type, error));
    }
    return Behaviors.same();
  }

  private Behavior<Command> onHosted(Hosted h) {
    long count = 0;
    for (ShardRegion.ShardState shard : h.state().getShards()) count += shard.getEntityIds().size();
    entities.computeIfAbsent(h.type(), t -> Kamon.gauge("orrery.sharding.entities").withTag("type", t)).update(count);
    shards.computeIfAbsent(h.type(), t -> Kamon.gauge("orrery.sharding.shards").withTag("type", t))
        .update(h.state().getShards().size());
    // Shards that did not answer in time are left out of the state: their runs are kept.
    if (h.type().equals(RunEntity.KEY.name()) && h.state().getFailed().isEmpty()) {
      Set<String> here = new HashSet<>();
      for (ShardRegion.ShardState shard : h.state().getShards()) {
        for (String entityId : shard.getEntityIds()) here.add(RunIds.runIdOf(entityId));
      }
      runs.keepOnly(here, h.askedAt());
      runsInFlight.update(runs.inFlight());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onNotAnswered(NotAnswered n) {
    ctx.getLog().debug("shard region {} did not tell what it hosts: {}", n.type(), n.error().toString());
    return Behaviors.same();
  }

  /** {@code WeaklyUp} → {@code weakly_up}. */
  private static String label(MemberStatus s) {
    return s.toString().replaceAll("([a-z])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
  }
}
