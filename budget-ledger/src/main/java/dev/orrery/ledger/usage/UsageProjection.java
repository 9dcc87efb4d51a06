package dev.orrery.ledger.usage;

import dev.orrery.ledger.tenant.TenantEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
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
 * The usage read side: every {@link TenantEvent.Settled} of every tenant (alone, or one of a
 * {@link TenantEvent.SettledBatch}), read from the journal by its tag, becomes a row of
 * {@code orrery_usage} (tenant, run, node, provider, model, day, tokens, cost). Each batch of rows and
 * the offset it reached are written in one transaction, so after a crash or restart the
 * projection resumes where it committed: exactly once. A row's key is (tenant, reservation), a second
 * guard against counting a settlement twice.
 *
 * <p>The tag query polls the journal, so the read side trails the ledger by about its refresh interval.
 */
public final class UsageProjection {
  public static final String TAG = "usage";
  static final String NAME = "usage";
  private static final Logger log = LoggerFactory.getLogger(UsageProjection.class);
  private static final int BATCH = 500;

  private final DataSource dataSource;
  private final Executor blocking;

  private UsageProjection(DataSource dataSource, Executor blocking) {
    this.dataSource = dataSource;
    this.blocking = blocking;
  }

  /** Runs the projection until the system stops, restarting it with backoff when it fails. */
  public static UniqueKillSwitch start(ActorSystem<?> system, String readJournalPluginId, DataSource dataSource) {
    EventsByTagQuery journal = PersistenceQuery.get(system).getReadJournalFor(EventsByTagQuery.class, readJournalPluginId);
    var projection = new UsageProjection(dataSource, system.dispatchers().lookup(DispatcherSelector.blocking()));
    RestartSettings restart = RestartSettings.create(Duration.ofMillis(500), Duration.ofSeconds(10), 0.2);
    return RestartSource.withBackoff(restart, () -> Source.completionStageSource(projection.offset()
                .thenApply(offset -> journal.eventsByTag(TAG, Offset.sequence(offset))
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
        st.setString(1, NAME);
        try (ResultSet rs = st.executeQuery()) {
          return rs.next() ? rs.getLong(1) : 0L;
        }
      } catch (SQLException e) {
        throw new IllegalStateException("could not read the usage projection's offset", e);
      }
    }, blocking);
  }

  /** One transaction: the batch's rows and the offset after it. */
  private CompletionStage<Done> write(List<EventEnvelope> batch) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(false);
        try {
          insert(c, batch);
          long last = ((Sequence) batch.get(batch.size() - 1).offset()).value();
          try (PreparedStatement st = c.prepareStatement("INSERT INTO orrery_projection_offset (name, last_offset) "
              + "VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_offset = EXCLUDED.last_offset")) {
            st.setString(1, NAME);
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
        log.warn("usage projection: a batch failed, the projection restarts from its last offset: {}", e.toString());
        throw new IllegalStateException("could not write a usage batch", e);
      }
    }, blocking);
  }

  private static void addRow(PreparedStatement st, String tenantId, TenantEvent.Settled s) throws SQLException {
    st.setString(1, tenantId);
    st.setString(2, s.reservationId());
    st.setString(3, s.runId());
    st.setString(4, s.nodeId());
    st.setString(5, s.provider());
    st.setString(6, s.model());
    st.setObject(7, LocalDate.ofInstant(s.at(), ZoneOffset.UTC));
    st.setLong(8, s.tokensIn());
    st.setLong(9, s.tokensOut());
    st.setLong(10, s.costMicros());
    // As an OffsetDateTime: the driver writes a Timestamp through a Calendar, noticeably slower per row.
    st.setObject(11, s.at().atOffset(ZoneOffset.UTC));
    st.addBatch();
  }

  private static void insert(Connection c, List<EventEnvelope> batch) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("INSERT INTO orrery_usage (tenant_id, reservation_id, run_id, "
        + "node_id, provider, model, day, tokens_in, tokens_out, cost_micros, settled_at) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, reservation_id) DO NOTHING")) {
      for (EventEnvelope e : batch) {
        String persistenceId = e.persistenceId();
        String tenantId = persistenceId.substring(persistenceId.indexOf('|') + 1);
        if (e.event() instanceof TenantEvent.Settled s) {
          addRow(st, tenantId, s);
        } else if (e.event() instanceof TenantEvent.SettledBatch b) {
          for (TenantEvent.Settled s : b.settled()) addRow(st, tenantId, s);
        }
      }
      st.executeBatch();
    }
  }
}
