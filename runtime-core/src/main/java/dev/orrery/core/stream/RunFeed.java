package dev.orrery.core.stream;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * A run's stream for one subscriber: the journal from {@code from_seq}, then the live topic, each event
 * exactly once and in order, ending with the run's terminal event (the stream closes
 * {@code close-delay} after it: {@link EndAfterTerminal}).
 *
 * <p>The subscriber joins the live topic before it reads the journal, and drops every live event the
 * journal already gave it. A live event further ahead than the next expected one means the topic lost
 * something in between (it was still spreading through the cluster, or the run moved): the gap is read
 * from the journal. The run's periodic position ({@link RunTopics}) catches a lost tail the same way.
 * Token deltas pass straight through; they are not in the journal and carry no sequence number.
 *
 * <p>While the client is slow (or the journal is being read), live messages wait; consecutive token
 * deltas of one step merge into one message, so a slow reader gets fewer, longer deltas rather than a
 * growing queue. More than {@code bufferSize} waiting events fail the stream with a
 * {@link BufferOverflowException} rather than growing the node's memory.
 */
public final class RunFeed {
  private static final RunUpdate END = new RunUpdate(null, "End", null, null, null, null, true, null);

  private final RunJournal journal;
  private final ActorRef<RunTopics.Command> topics;
  private final int bufferSize;
  private final Duration closeDelay;

  public RunFeed(RunJournal journal, ActorRef<RunTopics.Command> topics, StreamSettings settings) {
    this.journal = journal;
    this.topics = topics;
    this.bufferSize = settings.bufferSize();
    this.closeDelay = settings.closeDelay();
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
          // Live messages wait here (deltas merged) while the journal is read and while the client is slow.
          .conflateWithSeed(Waiting::new, Waiting::add)
          .mapConcat(w -> w.updates)
          .prepend(Source.single(RunUpdate.position(runId, Long.MAX_VALUE, false)))
          .flatMapConcat(u -> next(u, last, tenantId, runId))
          .takeWhile(u -> u != END)
          .via(new EndAfterTerminal(closeDelay));
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

  /** Live messages not yet taken by the client, consecutive deltas of one step merged. */
  private final class Waiting {
    final List<RunUpdate> updates = new ArrayList<>();
    private int events;

    Waiting(RunUpdate first) {
      add(first);
    }

    Waiting add(RunUpdate u) {
      RunUpdate last = updates.isEmpty() ? null : updates.get(updates.size() - 1);
      if (last != null && RunUpdate.DELTA.equals(u.type()) && sameStep(last, u)) {
        updates.set(updates.size() - 1, last.withMoreText(u));
        return this;
      }
      updates.add(u);
      if (!u.isEphemeral() && ++events > bufferSize) {
        throw new BufferOverflowException("more than " + bufferSize + " events waiting for a slow client");
      }
      return this;
    }
  }

  private static boolean sameStep(RunUpdate a, RunUpdate b) {
    return RunUpdate.DELTA.equals(a.type()) && java.util.Objects.equals(a.nodeId(), b.nodeId())
        && a.data().path("item").equals(b.data().path("item")) && a.data().path("attempt").equals(b.data().path("attempt"));
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
