package dev.orrery.core.run;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.port.DeltaSink;
import dev.orrery.core.stream.RunTopics;
import dev.orrery.core.stream.RunUpdate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * A run's side of its live stream: the cluster topic {@link RunTopics#topicName}, a child of the run's
 * entity (it stops with it), created when the first watcher asks. Nobody watching costs nothing: no
 * topic, no JSON, and steps make plain (non-streaming) calls.
 */
final class RunLive {
  private final ActorContext<?> ctx;
  private final String tenantId;
  private final String runId;
  private final Clock clock;
  private ActorRef<Topic.Command<RunUpdate>> topic;
  private ObjectMapper json;
  private Instant watchedUntil = Instant.MIN;

  RunLive(ActorContext<?> ctx, String tenantId, String runId, Clock clock) {
    this.ctx = ctx;
    this.tenantId = tenantId;
    this.runId = runId;
    this.clock = clock;
  }

  void watchedFor(Duration ttl) {
    watchedUntil = clock.instant().plus(ttl);
    if (topic == null) {
      topic = ctx.spawn(Topic.create(RunUpdate.class, RunTopics.topicName(tenantId, runId)), "live");
      json = JacksonObjectMapperProvider.get(ctx.getSystem()).getOrCreate("jackson-json", Optional.empty());
    }
  }

  private boolean watched() {
    return topic != null && clock.instant().isBefore(watchedUntil);
  }

  /** The batch just persisted, whose last event has sequence number {@code lastSeq}. */
  void published(long lastSeq, List<RunEvent> events) {
    if (!watched()) return;
    long seq = lastSeq - events.size() + 1;
    for (RunEvent e : events) topic.tell(Topic.publish(RunUpdate.persisted(seq++, runId, e, json)));
  }

  /** Whether {@code child} is the run's topic: it outlives the run's end, so the terminal event is delivered. */
  boolean isTopic(ActorRef<?> child) {
    return child.equals(topic);
  }

  /** A sink for a step's streamed text while the run is watched, else null (the step then need not stream). */
  StepDeltas deltaSink(String nodeId, Integer item, int attempt) {
    if (!watched()) return null;
    return new StepDeltas(nodeId, item, attempt);
  }

  /**
   * One step's streamed text on its way to the topic, gathered for {@link #DELTA_INTERVAL}: every delta
   * goes to every subscriber of the run, so a burst of small pieces (a provider that sends many at once)
   * costs one message per interval instead of one per piece. {@link #flush} sends what is left when the
   * call ends, before the step reports, so no piece arrives after the step's result.
   */
  final class StepDeltas implements DeltaSink {
    private final String nodeId;
    private final Integer item;
    private final int attempt;
    private final ActorRef<Topic.Command<RunUpdate>> to = topic;
    private final ObjectMapper mapper = json;
    private final StringBuilder pending = new StringBuilder();
    private boolean flushScheduled;

    private StepDeltas(String nodeId, Integer item, int attempt) {
      this.nodeId = nodeId;
      this.item = item;
      this.attempt = attempt;
    }

    @Override
    public synchronized void onDelta(String text) {
      pending.append(text);
      if (!flushScheduled) {
        flushScheduled = true;
        ctx.getSystem().scheduler().scheduleOnce(DELTA_INTERVAL, this::flush, ctx.getSystem().executionContext());
      }
    }

    synchronized void flush() {
      flushScheduled = false;
      if (pending.length() == 0) return;
      to.tell(Topic.publish(RunUpdate.delta(runId, nodeId, item, attempt, pending.toString(), clock.instant(), mapper)));
      pending.setLength(0);
    }
  }

  /** How long a step's streamed text gathers before it goes out: the live view's granularity. */
  static final Duration DELTA_INTERVAL = Duration.ofMillis(40);
}
