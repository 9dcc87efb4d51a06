package dev.orrery.core.stream;

import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * A run's stream for one subscriber: the journal from {@code from_seq}, then the live topic, each event
 * exactly once and in order, ending with the run's terminal event.
 *
 * <p>The subscriber joins the live topic before it reads the journal, and drops every live event the
 * journal already gave it. A live event further ahead than the next expected one means the topic lost
 * something in between (it was still spreading through the cluster, or the run moved): the gap is read
 * from the journal. The run's periodic position ({@link RunTopics}) catches a lost tail the same way.
 * Token deltas pass straight through; they are not in the journal and carry no sequence number.
 *
 * <p>Live messages wait in a buffer of {@code bufferSize} while the client is slow; a client that falls
 * further behind fails the stream with a {@link org.apache.pekko.stream.BufferOverflowException} rather
 * than growing the node's memory.
 */
public final class RunFeed {
  private static final RunUpdate END = new RunUpdate(null, "End", null, null, null, true, null);

  private final RunJournal journal;
  private final ActorRef<RunTopics.Command> topics;
  private final int bufferSize;

  public RunFeed(RunJournal journal, ActorRef<RunTopics.Command> topics, int bufferSize) {
    this.journal = journal;
    this.topics = topics;
    this.bufferSize = bufferSize;
  }

  public Source<RunUpdate, NotUsed> follow(String tenantId, String runId, long fromSeq) {
    return Source.<RunUpdate, NotUsed>fromMaterializer((materializer, attributes) -> {
      AtomicLong last = new AtomicLong(Math.max(1, fromSeq) - 1);
      Source<RunUpdate, ActorRef<RunUpdate>> live =
          ActorSource.actorRef(u -> false, u -> Optional.empty(), bufferSize, OverflowStrategy.fail());
      return live
          .mapMaterializedValue(ref -> {
            topics.tell(new RunTopics.Subscribe(tenantId, runId, ref));
            return NotUsed.notUsed();
          })
          // Live messages wait in the buffer while the journal is read up to its end.
          .prepend(Source.single(RunUpdate.position(runId, Long.MAX_VALUE, false)))
          .flatMapConcat(u -> next(u, last, tenantId, runId))
          .takeWhile(u -> u != END)
          .takeWhile(u -> !u.isTerminal(), true);
    }).mapMaterializedValue(ignored -> NotUsed.notUsed());
  }

  private Source<RunUpdate, NotUsed> next(RunUpdate u, AtomicLong last, String tenantId, String runId) {
    if (u.isPosition()) {
      if (u.seq() > last.get()) return fromJournal(tenantId, runId, last, u.seq());
      // Finished and nothing left to send: a client that had seen the end reconnected.
      return RunUpdate.FINAL_POSITION.equals(u.type()) ? Source.single(END) : Source.empty();
    }
    if (u.isEphemeral()) return Source.single(u);
    long seq = u.seq();
    if (seq <= last.get()) return Source.empty();
    if (seq == last.get() + 1) {
      last.set(seq);
      return Source.single(u);
    }
    return fromJournal(tenantId, runId, last, seq);
  }

  private Source<RunUpdate, NotUsed> fromJournal(String tenantId, String runId, AtomicLong last, long toSeq) {
    return journal.updates(tenantId, runId, last.get() + 1, toSeq)
        .filter(u -> u.seq() > last.get())
        .map(u -> {
          last.set(u.seq());
          return u;
        });
  }
}
