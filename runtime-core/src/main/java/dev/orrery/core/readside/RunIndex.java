package dev.orrery.core.readside;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import dev.orrery.core.port.Usage;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunEvent.ApprovalDenied;
import dev.orrery.core.run.RunEvent.ApprovalGranted;
import dev.orrery.core.run.RunEvent.ApprovalRequested;
import dev.orrery.core.run.RunEvent.RunAccepted;
import dev.orrery.core.run.RunEvent.RunCancelled;
import dev.orrery.core.run.RunEvent.RunCompleted;
import dev.orrery.core.run.RunEvent.RunFailed;
import dev.orrery.core.run.RunListener;
import dev.orrery.core.run.RunState;
import dev.orrery.core.run.RunStatus;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runs read side behind {@code GET /api/v1/runs}: one row per run in {@code orrery_runs} (workflow,
 * status, when it was accepted and finished). Its {@link #writer} listens to the runs of its node: the
 * events that change a run's place in the list (accepted, waiting for approval, decided, finished) become
 * idempotent upserts, written in batches in the order they were persisted; and every run that recovers
 * writes its recovered summary, which repairs what a crash lost between a persist and its batch (runs in
 * flight come back by themselves after a restart). Tokens and cost come from the usage read side at query
 * time. The list trails the runs by at most a batch interval; {@code GET /runs/{id}} is always current.
 *
 * <p>Not a tagged projection: a tag on any event sends pekko-persistence-jdbc's whole write batch down
 * its slow path (each row inserted on its own to learn its ordering), which halved the runs benchmark.
 */
public final class RunIndex {
  private static final Logger log = LoggerFactory.getLogger(RunIndex.class);
  private static final int BATCH = 500;
  private static final Duration BATCH_INTERVAL = Duration.ofMillis(100);
  private static final int QUEUE = 50_000;

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Row(
      @JsonProperty("run_id") String runId,
      @JsonProperty("workflow") String workflow,
      @JsonProperty("workflow_version") int workflowVersion,
      @JsonProperty("status") String status,
      @JsonProperty("accepted_at") Instant acceptedAt,
      @JsonProperty("finished_at") Instant finishedAt,
      @JsonProperty("forked_from") String forkedFrom,
      @JsonProperty("error_code") String errorCode,
      @JsonProperty("usage") Usage usage) {}

  /** A page of rows, newest first; {@code next_cursor} continues after its last row. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Page(@JsonProperty("runs") List<Row> runs, @JsonProperty("next_cursor") String nextCursor) {}

  /** Where a page starts: after this run in (accepted_at, run_id) descending order. */
  public record Cursor(Instant acceptedAt, String runId) {
    public String encode() {
      return acceptedAt.toEpochMilli() * 1000 + acceptedAt.getNano() / 1000 % 1000 + "." + runId;
    }

    /** @throws IllegalArgumentException if the text is not a cursor this index gave */
    public static Cursor decode(String text) {
      int dot = text.indexOf('.');
      try {
        long micros = Long.parseLong(text.substring(0, dot));
        return new Cursor(Instant.ofEpochSecond(0, 0).plusNanos(micros * 1000), text.substring(dot + 1));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("cursor '" + text + "' is not one this API gave");
      }
    }
  }

  /** One change to one run's row: a statement and its values. */
  private record Change(String sql, Object[] values) {}

  private final DataSource dataSource;
  private final Executor blocking;

  public RunIndex(DataSource dataSource, Executor blocking) {
    this.dataSource = dataSource;
    this.blocking = blocking;
  }

  /** The listener that keeps the index, writing until the system stops. */
  public RunListener writer(ActorSystem<?> system) {
    BoundedSourceQueue<Change> queue = Source.<Change>queue(QUEUE)
        .groupedWithin(BATCH, BATCH_INTERVAL)
        .mapAsync(1, this::write)
        .to(Sink.ignore())
        .run(system);
    return new RunListener() {
      @Override
      public void onPersisted(String tenantId, String runId, List<RunEvent> events) {
        for (RunEvent e : events) {
          Change c = changeOf(tenantId, runId, e);
          if (c != null) offer(queue, c);
        }
      }

      @Override
      public void onRecovered(String tenantId, String runId, RunState state) {
        offer(queue, summaryOf(tenantId, runId, state));
      }
    };
  }

  private static void offer(BoundedSourceQueue<Change> queue, Change c) {
    QueueOfferResult result = queue.offer(c);
    if (result != QueueOfferResult.enqueued()) {
      // The run's own journal is whole; its row is repaired when the run next recovers.
      log.warn("runs index: a change was not queued ({}); the list may trail until the run recovers", result);
    }
  }

  private static Change changeOf(String tenant, String run, RunEvent event) {
    if (event instanceof RunAccepted e) {
      return new Change("INSERT INTO orrery_runs (tenant_id, run_id, workflow, workflow_version, status, accepted_at, "
          + "forked_from) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, run_id) DO NOTHING",
          new Object[] {tenant, run, e.spec().name(), e.spec().version(), RunStatus.RUNNING.name(),
              Timestamp.from(e.at()), e.fork() == null ? null : e.fork().runId()});
    }
    if (event instanceof ApprovalRequested) return status(tenant, run, RunStatus.AWAITING_APPROVAL, null, null);
    if (event instanceof ApprovalGranted || event instanceof ApprovalDenied) {
      return status(tenant, run, RunStatus.RUNNING, null, null);
    }
    if (event instanceof RunCompleted e) return status(tenant, run, RunStatus.SUCCEEDED, e.at(), null);
    if (event instanceof RunFailed e) return status(tenant, run, RunStatus.FAILED, e.at(), e.error().code());
    if (event instanceof RunCancelled e) return status(tenant, run, RunStatus.CANCELLED, e.at(), null);
    return null;
  }

  /** A run's new status; a finished run's row no longer changes. */
  private static Change status(String tenant, String run, RunStatus status, Instant finishedAt, String errorCode) {
    return new Change("UPDATE orrery_runs SET status = ?, finished_at = ?, error_code = ? "
        + "WHERE tenant_id = ? AND run_id = ? AND finished_at IS NULL",
        new Object[] {status.name(), finishedAt == null ? null : Timestamp.from(finishedAt), errorCode, tenant, run});
  }

  /** The whole row from a recovered state: inserted if missing, brought up to date if not finished. */
  private static Change summaryOf(String tenant, String run, RunState s) {
    RunStatus listed = s.status() == RunStatus.AWAITING_BUDGET ? RunStatus.RUNNING : s.status();
    return new Change("INSERT INTO orrery_runs (tenant_id, run_id, workflow, workflow_version, status, accepted_at, "
        + "finished_at, forked_from, error_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, run_id) "
        + "DO UPDATE SET status = EXCLUDED.status, finished_at = EXCLUDED.finished_at, error_code = EXCLUDED.error_code "
        + "WHERE orrery_runs.finished_at IS NULL",
        new Object[] {tenant, run, s.spec().name(), s.spec().version(), listed.name(), Timestamp.from(s.acceptedAt()),
            s.finishedAt() == null ? null : Timestamp.from(s.finishedAt()), s.fork() == null ? null : s.fork().runId(),
            s.error() == null ? null : s.error().code()});
  }

  /** One transaction per batch, the changes in the order they were persisted. */
  private CompletionStage<Done> write(List<Change> batch) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection()) {
        c.setAutoCommit(false);
        try {
          for (Change change : batch) {
            try (PreparedStatement st = c.prepareStatement(change.sql())) {
              for (int i = 0; i < change.values().length; i++) st.setObject(i + 1, change.values()[i]);
              st.executeUpdate();
            }
          }
          c.commit();
        } catch (SQLException | RuntimeException e) {
          c.rollback();
          throw e;
        }
      } catch (SQLException e) {
        // Runs repair their rows when they recover; the stream goes on with the next batch.
        log.warn("runs index: a batch of {} changes failed: {}", batch.size(), e.toString());
      }
      return Done.getInstance();
    }, blocking);
  }

  /**
   * The entity ids ({@link dev.orrery.core.run.RunIds#entityId}) of every run the index shows as not finished,
   * of every tenant, oldest first: the runs a starting node makes sure are awake.
   */
  public CompletionStage<List<String>> unfinished(int limit) {
    return CompletableFuture.supplyAsync(() -> {
      try (Connection c = dataSource.getConnection();
          // A finished run's row has its finished_at: every terminal status is written with it.
          PreparedStatement st = c.prepareStatement("SELECT tenant_id, run_id FROM orrery_runs "
              + "WHERE finished_at IS NULL ORDER BY accepted_at LIMIT ?")) {
        st.setInt(1, limit);
        List<String> ids = new ArrayList<>();
        try (ResultSet rs = st.executeQuery()) {
          while (rs.next()) ids.add(dev.orrery.core.run.RunIds.entityId(rs.getString(1), rs.getString(2)));
        }
        return ids;
      } catch (SQLException e) {
        throw new IllegalStateException("could not list unfinished runs", e);
      }
    }, blocking);
  }

  /**
   * A tenant's runs, newest first.
   *
   * @param statuses only these statuses; empty for all
   * @param since only runs accepted at or after this instant; null for all
   * @param after the cursor of the previous page, or null for the first
   */
  public CompletionStage<Page> list(String tenantId, Set<RunStatus> statuses, Instant since, int limit, Cursor after) {
    return CompletableFuture.supplyAsync(() -> {
      StringBuilder sql = new StringBuilder("SELECT run_id, workflow, workflow_version, status, accepted_at, "
          + "finished_at, forked_from, error_code FROM orrery_runs WHERE tenant_id = ?");
      List<Object> values = new ArrayList<>();
      values.add(tenantId);
      if (!statuses.isEmpty()) {
        sql.append(" AND status = ANY (?)");
        values.add(statuses.stream().map(Enum::name).toArray(String[]::new));
      }
      if (since != null) {
        sql.append(" AND accepted_at >= ?");
        values.add(Timestamp.from(since));
      }
      if (after != null) {
        sql.append(" AND (accepted_at, run_id) < (?, ?)");
        values.add(Timestamp.from(after.acceptedAt()));
        values.add(after.runId());
      }
      sql.append(" ORDER BY accepted_at DESC, run_id DESC LIMIT ?");
      values.add(limit + 1);
      try (Connection c = dataSource.getConnection()) {
        List<Row> rows = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(sql.toString())) {
          for (int i = 0; i < values.size(); i++) {
            Object v = values.get(i);
            if (v instanceof String[] array) st.setArray(i + 1, c.createArrayOf("text", array));
            else st.setObject(i + 1, v);
          }
          try (ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
              Timestamp finished = rs.getTimestamp(6);
              rows.add(new Row(rs.getString(1), rs.getString(2), rs.getInt(3), rs.getString(4),
                  rs.getTimestamp(5).toInstant(), finished == null ? null : finished.toInstant(), rs.getString(7),
                  rs.getString(8), Usage.ZERO));
            }
          }
        }
        String next = null;
        if (rows.size() > limit) {
          rows = new ArrayList<>(rows.subList(0, limit));
          Row last = rows.get(limit - 1);
          next = new Cursor(last.acceptedAt(), last.runId()).encode();
        }
        return new Page(withUsage(c, tenantId, rows), next);
      } catch (SQLException e) {
        throw new IllegalStateException("could not list runs", e);
      }
    }, blocking);
  }

  private static List<Row> withUsage(Connection c, String tenantId, List<Row> rows) throws SQLException {
    if (rows.isEmpty()) return rows;
    Map<String, Usage> usage = new LinkedHashMap<>();
    try (PreparedStatement st = c.prepareStatement("SELECT run_id, sum(tokens_in), sum(tokens_out), sum(cost_micros) "
        + "FROM orrery_usage WHERE tenant_id = ? AND run_id = ANY (?) GROUP BY run_id")) {
      st.setString(1, tenantId);
      st.setArray(2, c.createArrayOf("text", rows.stream().map(Row::runId).toArray()));
      try (ResultSet rs = st.executeQuery()) {
        while (rs.next()) usage.put(rs.getString(1), new Usage(rs.getLong(2), rs.getLong(3), rs.getLong(4)));
      }
    }
    List<Row> out = new ArrayList<>();
    for (Row r : rows) {
      out.add(new Row(r.runId(), r.workflow(), r.workflowVersion(), r.status(), r.acceptedAt(), r.finishedAt(),
          r.forkedFrom(), r.errorCode(), usage.getOrDefault(r.runId(), Usage.ZERO)));
    }
    return out;
  }
}
