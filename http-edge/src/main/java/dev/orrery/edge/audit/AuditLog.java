package dev.orrery.edge.audit;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who did what: every mutating API call, once its caller is known, with its tenant, key, action, target
 * (the request path), outcome and status, in {@code orrery_audit}. Written off the request's thread on the
 * blocking dispatcher; a write that fails is logged with the entry, never silently dropped.
 */
public final class AuditLog {
  private static final Logger log = LoggerFactory.getLogger(AuditLog.class);

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Entry(
      @JsonProperty("id") long id,
      @JsonProperty("at") Instant at,
      @JsonProperty("tenant_id") String tenantId,
      @JsonProperty("key_id") String keyId,
      @JsonProperty("action") String action,
      @JsonProperty("target") String target,
      @JsonProperty("outcome") String outcome,
      @JsonProperty("status") int status) {}

  private final DataSource dataSource;
  private final Executor blocking;
  private final Clock clock;

  public AuditLog(DataSource dataSource, Executor blocking, Clock clock) {
    this.dataSource = dataSource;
    this.blocking = blocking;
    this.clock = clock;
  }

  /** {@code ok} for a 2xx answer, {@code refused} for 4xx, {@code error} for anything else. */
  public static String outcomeOf(int status) {
    return status >= 200 && status < 300 ? "ok" : status >= 400 && status < 500 ? "refused" : "error";
  }

  public CompletionStage<Void> record(String tenantId, String keyId, String action, String target, int status) {
    Instant at = clock.instant();
    return CompletableFuture.runAsync(() -> {
      try (Connection c = dataSource.getConnection();
          PreparedStatement st = c.prepareStatement("INSERT INTO orrery_audit (at, tenant_id, key_id, action, target, "
              + "outcome, status) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        st.setTimestamp(1, Timestamp.from(at));
        st.setString(2, tenantId);
        st.setString(3, keyId);
        st.setString(4, action);
        st.setString(5, target);
        st.setString(6, outcomeOf(status));
        st.setInt(7, status);
        st.executeUpdate();
      } catch (SQLException e) {
        log.error("audit entry not written: tenant={} key={} action={} target={} status={}: {}", tenantId, keyId,
            action, target, status, e.toString());
        throw new IllegalStateException("could not write an audit entry", e);
      }
    }, blocking);
  }

  /** A tenant's entries, newest first, before entry id {@code beforeId} (null for the newest). */
  public CompletionStage<List<Entry>> recent(String tenantId, int limit, Long beforeId) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection();
          PreparedStatement st = c.prepareStatement("SELECT id, at, tenant_id, key_id, action, target, outcome, status "
              + "FROM orrery_audit WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?")) {
        st.setString(1, tenantId);
        st.setLong(2, beforeId == null ? Long.MAX_VALUE : beforeId);
        st.setInt(3, limit);
        List<Entry> entries = new ArrayList<>();
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) {
            entries.add(new Entry(rs.getLong(1), rs.getTimestamp(2).toInstant(), rs.getString(3), rs.getString(4),
                rs.getString(5), rs.getString(6), rs.getString(7), rs.getInt(8)));
          }
        }
        return entries;
      } catch (SQLException e) {
        throw new IllegalStateException("could not read the audit log", e);
      }
    }, blocking);
  }
}
