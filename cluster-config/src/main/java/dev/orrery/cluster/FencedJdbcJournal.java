package dev.orrery.cluster;

import com.typesafe.config.Config;
import dev.orrery.core.Instrumentation;
import org.apache.pekko.dispatch.Futures;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal;
import scala.collection.immutable.Seq;
import scala.concurrent.Future;
import scala.runtime.BoxedUnit;
import scala.util.Try;

/**
 * pekko-persistence-jdbc's journal behind the {@link PauseFence}: a write from a process that was just
 * frozen fails (the entity stops, as on any journal failure) instead of landing after the run moved to
 * another node. It also times each write ({@code journal_write_seconds{result}}).
 */
public final class FencedJdbcJournal extends JdbcAsyncWriteJournal {
  private static final kamon.metric.Metric.Timer WRITES = kamon.Kamon.timer("journal.write");

  public FencedJdbcJournal(Config config) {
    super(config);
  }

  @Override
  public Future<Seq<Try<BoxedUnit>>> asyncWriteMessages(Seq<AtomicWrite> messages) {
    if (!PauseFence.jvm().allowsWrites()) {
      return Futures.failed(new IllegalStateException(
          "journal write refused: this process was paused longer than the cluster's failure detector allows"));
    }
    if (!Instrumentation.enabled()) return super.asyncWriteMessages(messages);
    long started = System.nanoTime();
    Future<Seq<Try<BoxedUnit>>> written = super.asyncWriteMessages(messages);
    // journal_write_seconds: a batch from the journal's hand to PostgreSQL's commit.
    written.onComplete(done -> {
      WRITES.withTag("result", done.isSuccess() ? "ok" : "failed").record(System.nanoTime() - started);
      return BoxedUnit.UNIT;
    }, context().dispatcher());
    return written;
  }
}
