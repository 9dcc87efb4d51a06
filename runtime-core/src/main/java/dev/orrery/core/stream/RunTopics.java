package dev.orrery.core.stream;

import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunIds;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * The node's subscriptions to runs' live topics. A run's events are published on the cluster topic
 * {@link #topicName} by its entity, wherever it lives, but only while someone watches: this actor holds
 * one topic instance per run that has subscribers on this node, and tells the run every
 * {@code renew-interval} that it is watched ({@link RunEntity.Watch}). The run answers with the sequence
 * number of its last event, which this actor passes on to the subscribers, so a subscriber that missed a
 * live message (the topic's membership spreads through the cluster in the background; a run that moved to
 * another node publishes again after the next renewal) reads the gap from the journal.
 */
public final class RunTopics {

  public sealed interface Command {}

  /** {@code subscriber} receives the run's live messages and positions until it stops. */
  public record Subscribe(String tenantId, String runId, ActorRef<RunUpdate> subscriber) implements Command {}

  /** How many runs this node follows live, and for how many subscribers. */
  public record GetStats(ActorRef<Stats> replyTo) implements Command {}

  public record Stats(int runs, int subscribers) {}

  private record SubscriberStopped(String entityId, ActorRef<RunUpdate> subscriber) implements Command {}

  private record Position(RunEntity.Watching watching) implements Command {}

  private enum Renew implements Command { INSTANCE }

  public static String topicName(String tenantId, String runId) {
    return "run-updates|" + RunIds.entityId(tenantId, runId);
  }

  public static Behavior<Command> create(Duration renewInterval) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Renew.INSTANCE, renewInterval);
      return new RunTopics(ctx, renewInterval).behavior();
    }));
  }

  /**
   * One followed run. A position goes to every subscriber when it differs from the last one sent, and
   * otherwise only to those that joined since: with many subscribers joining, each one's renewal would
   * otherwise send the same position to all of them again (quadratic in the subscribers, for nothing).
   */
  private static final class Feed {
    final ActorRef<Topic.Command<RunUpdate>> topic;
    final Set<ActorRef<RunUpdate>> subscribers = new HashSet<>();
    /** Joined since the last position: they have not had one yet. */
    final Set<ActorRef<RunUpdate>> newcomers = new HashSet<>();
    RunUpdate lastPosition;

    Feed(ActorRef<Topic.Command<RunUpdate>> topic) {
      this.topic = topic;
    }
  }

  private final ActorContext<Command> ctx;
  private final ClusterSharding sharding;
  /** A run not renewed for this long stops publishing: three renewals may get lost before it does. */
  private final Duration watchTtl;
  private final ActorRef<RunEntity.Watching> positions;
  private final Map<String, Feed> feeds = new HashMap<>();
  private long topics;

  private RunTopics(ActorContext<Command> ctx, Duration renewInterval) {
    this.ctx = ctx;
    this.sharding = ClusterSharding.get(ctx.getSystem());
    this.watchTtl = renewInterval.multipliedBy(3);
    this.positions = ctx.messageAdapter(RunEntity.Watching.class, Position::new);
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(SubscriberStopped.class, this::onSubscriberStopped)
        .onMessage(Position.class, this::onPosition)
        .onMessageEquals(Renew.INSTANCE, this::onRenew)
        .onMessage(GetStats.class, this::onGetStats)
        .build();
  }

  private Behavior<Command> onSubscribe(Subscribe s) {
    String entityId = RunIds.entityId(s.tenantId(), s.runId());
    Feed feed = feeds.get(entityId);
    boolean first = feed == null;
    if (first) {
      var topic = ctx.spawn(Topic.create(RunUpdate.class, topicName(s.tenantId(), s.runId())), "topic-" + (++topics));
      feed = new Feed(topic);
      feeds.put(entityId, feed);
    }
    feed.topic.tell(Topic.subscribe(s.subscriber()));
    feed.subscribers.add(s.subscriber());
    feed.newcomers.add(s.subscriber());
    ctx.watchWith(s.subscriber(), new SubscriberStopped(entityId, s.subscriber()));
    // A first subscriber starts the run publishing; a later one still needs a position soon, since it
    // subscribed after the journal read that it started with.
    watch(entityId);
    return Behaviors.same();
  }

  private Behavior<Command> onSubscriberStopped(SubscriberStopped s) {
    Feed feed = feeds.get(s.entityId());
    if (feed == null) return Behaviors.same();
    feed.subscribers.remove(s.subscriber());
    feed.newcomers.remove(s.subscriber());
    if (feed.subscribers.isEmpty()) {
      ctx.stop(feed.topic);
      feeds.remove(s.entityId());
    }
    return Behaviors.same();
  }

  private Behavior<Command> onPosition(Position p) {
    RunEntity.Watching w = p.watching();
    Feed feed = feeds.get(RunIds.entityId(w.tenantId(), w.runId()));
    if (feed != null) {
      RunUpdate position = RunUpdate.position(w.runId(), w.lastSeq(), w.finished());
      // Positions arrive in the order the run answered, so a subscriber gets the first one after it joined
      // and every change after that: the latest position is never older than the one its own renewal asked.
      Set<ActorRef<RunUpdate>> to = position.equals(feed.lastPosition) ? feed.newcomers : feed.subscribers;
      to.forEach(s -> s.tell(position));
      feed.lastPosition = position;
      feed.newcomers.clear();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onRenew() {
    feeds.keySet().forEach(this::watch);
    return Behaviors.same();
  }

  private Behavior<Command> onGetStats(GetStats g) {
    int subscribers = 0;
    for (Feed f : feeds.values()) subscribers += f.subscribers.size();
    g.replyTo().tell(new Stats(feeds.size(), subscribers));
    return Behaviors.same();
  }

  private void watch(String entityId) {
    sharding.entityRefFor(RunEntity.KEY, entityId).tell(new RunEntity.Watch(watchTtl, positions));
  }
}
