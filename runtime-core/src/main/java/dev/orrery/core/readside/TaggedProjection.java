package dev.orrery.core.readside;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.query.javadsl.EventsByTagQuery;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.RestartSettings;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.RestartSource;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A read side in PostgreSQL fed by the journal's events of one tag: each batch of events is written by
 * the projection's {@link Writer} in the same transaction as the offset it reached (table
 * {@code orrery_projection_offset}), so after a crash or restart the projection resumes where it
 * committed: exactly once. It restarts with backoff when a batch fails.
 *
 * <p>The tag query polls the journal, so a read side trails the journal by about its refresh interval.
 */
public final class TaggedProjection {
  private static final Logger log = LoggerFactory.getLogger(TaggedProjection.class);
  private static final int BATCH = 500;

  /** Writes one batch through the transaction's connection; throws to roll the batch back. */
  @FunctionalInterface
  public interface Writer {
    void write(Connection c, List<EventEnvelope> batch) throws SQLException;
  }

  private final String name;
  private final DataSource dataSource;
  private final Executor blocking;
  private final Writer writer;

  private TaggedProjection(String name, DataSource dataSource, Executor blocking, Writer writer) {
    this.name = name;
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.writer = writer;
  }

  /** Runs the projection {@code name} of the events tagged {@code tag} until the kill switch or the system stops it. */
  public static UniqueKillSwitch start(ActorSystem<?> system, String readJournalPluginId, DataSource dataSource,
      String name, String tag, Writer writer) {
    EventsByTagQuery journal = PersistenceQuery.get(system).getReadJournalFor(EventsByTagQuery.class, readJournalPluginId);
    var projection = new TaggedProjection(name, dataSource, system.dispatchers().lookup(DispatcherSelector.blocking()),
        writer);
    RestartSettings restart = RestartSettings.create(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2);
    return RestartSource.withBackoff(restart, () -> Source.completionStageSource(projection.offset()
                .thenApply(offset -> journal.eventsByTag(tag, Offset.sequence(offset))
                    .groupedWithin(BATCH, Duration.ofMillis(100))
                    .mapAsync(1, projection::write)
                    .mapMaterializedValue(ignored -> NotUsed.getInstance()))))
        .viaMat(KillSwitches.single(), Keep.right())
        .to(Sink.ignore())
        .run(system);
  }

  /** The offset this projection committed last; 0 before its first batch. */
  private CompletionStage<Long> offset() {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection();
          PreparedStatement st = c.prepareStatement("SELECT last_offset FROM orrery_projection_offset WHERE name = ?")) {
        st.setString(1, name);
        try (ResultSet rs = st.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      } catch (SQLException e) {
        throw new IllegalStateException("could not read the offset of projection " + name, e);
      }
    }, blocking);
  }

  /** One transaction: the batch's rows and the offset after it. */
  private CompletionStage<Done> write(List<EventEnvelope> batch) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(false);
        try {
          writer.write(c, batch);
          long last = ((Sequence) batch.get(batch.size() - 1).offset()).value();
          try (PreparedStatement st = c.prepareStatement("INSERT INTO orrery_projection_offset (name, last_offset) "
              + "VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_offset = EXCLUDED.last_offset")) {
            st.setString(1, name);
            st.setLong(2, last);
            st.executeUpdate();
          }
          c.commit();
          return Done.getInstance();
        } catch (SQLException | RuntimeException e) {
          c.rollback();
          throw e;
        }
      } catch (SQLException e) {
        log.warn("projection {}: a batch failed, it restarts from its last offset: {}", name, e.toString());
        throw new IllegalStateException("could not write a batch of projection " + name, e);
      }
    }, blocking);
  }
}
