package dev.orrery.ledger.usage;

import dev.orrery.core.readside.TaggedProjection;
import dev.orrery.ledger.tenant.TenantEvent;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.stream.UniqueKillSwitch;

/**
 * The usage read side: every {@link TenantEvent.Settled} of every tenant, read from the journal by its
 * tag, becomes a row of {@code orrery_usage} (tenant, run, node, provider, model, day, tokens, cost). Each
 * batch of rows and the offset it reached are written in one transaction, so after a crash or restart the
 * projection resumes where it committed: exactly once. A row's key is (tenant, reservation), a second
 * guard against counting a settlement twice.
 *
 * <p>The tag query polls the journal, so the read side trails the ledger by about its refresh interval
 * ({@link TaggedProjection}).
 */
public final class UsageProjection {
  public static final String TAG = "usage";
  static final String NAME = "usage";

  private UsageProjection() {}

  /** Runs the projection until the system stops, restarting it with backoff when it fails. */
  public static UniqueKillSwitch start(ActorSystem<?> system, String readJournalPluginId, DataSource dataSource) {
    return TaggedProjection.start(system, readJournalPluginId, dataSource, NAME, TAG, UsageProjection::insert);
  }

  private static void insert(Connection c, List<EventEnvelope> batch) throws SQLException {
    try (PreparedStatement st = c.prepareStatement("INSERT INTO orrery_usage (tenant_id, reservation_id, run_id, "
        + "node_id, provider, model, day, tokens_in, tokens_out, cost_micros, settled_at) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, reservation_id) DO NOTHING")) {
      for (EventEnvelope e : batch) {
        if (!(e.event() instanceof TenantEvent.Settled s)) continue;
        String persistenceId = e.persistenceId();
        st.setString(1, persistenceId.substring(persistenceId.indexOf('|') + 1));
        st.setString(2, s.reservationId());
        st.setString(3, s.runId());
        st.setString(4, s.nodeId());
        st.setString(5, s.provider());
        st.setString(6, s.model());
        st.setObject(7, LocalDate.ofInstant(s.at(), ZoneOffset.UTC));
        st.setLong(8, s.tokensIn());
        st.setLong(9, s.tokensOut());
        st.setLong(10, s.costMicros());
        st.setTimestamp(11, Timestamp.from(s.at()));
        st.addBatch();
      }
      st.executeBatch();
    }
  }
}
