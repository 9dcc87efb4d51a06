package dev.orrery.cluster.multinode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.cluster.testing.SharedPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the nodes persisted, read straight from the journal table: the ground truth a cluster test checks
 * (each step's success once, every run finished, when each run last moved), whatever node wrote it.
 */
final class JournalRows {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String RUNS = "persistence_id LIKE 'run|%'";
  /** An event type's manifest: its class, and its format version after {@code #} (none for version 1 of old rows). */
  private static final String OF_TYPE = "event_ser_manifest ~ ('\\$' || ? || '(#[0-9]+)?$')";

  private final SharedPostgres.TestDatabase db;

  JournalRows(SharedPostgres.TestDatabase db) {
    this.db = db;
  }

  /** Runs with at least one event of this type ({@code StepSucceeded}, {@code RunCompleted} …). */
  Set<String> runsWith(String eventType) {
    Set<String> runs = new HashSet<>();
    query("SELECT DISTINCT persistence_id FROM event_journal WHERE " + RUNS + " AND " + OF_TYPE,
        List.of(eventType), rs -> runs.add(rs.getString(1)));
    return runs;
  }

  /**
   * Runs with an event of this type stamped at or before {@code atMillis}. The journal stamps an event
   * when it takes the write and inserts it a little later, so only a query made after that moment sees
   * every such event: ask again inside an {@link Eventually} rather than once right at the moment.
   */
  Set<String> runsWith(String eventType, long atMillis) {
    Set<String> runs = new HashSet<>();
    query("SELECT DISTINCT persistence_id FROM event_journal WHERE " + RUNS + " AND " + OF_TYPE
        + " AND write_timestamp <= ?", List.of(eventType, atMillis), rs -> runs.add(rs.getString(1)));
    return runs;
  }

  /** Per run, the write time (epoch ms) of its first event after {@code afterMillis}, for runs that have one. */
  Map<String, Long> firstWriteAfter(long afterMillis) {
    Map<String, Long> first = new HashMap<>();
    query("SELECT persistence_id, min(write_timestamp) FROM event_journal WHERE " + RUNS
        + " AND write_timestamp > ? GROUP BY persistence_id", List.of(afterMillis),
        rs -> first.put(rs.getString(1), rs.getLong(2)));
    return first;
  }

  /** Steps (run, node, item) whose success was persisted more than once, with the count. */
  Map<String, Integer> duplicateSuccesses() {
    Map<String, Integer> counts = new TreeMap<>();
    query("SELECT persistence_id, event_payload FROM event_journal WHERE " + RUNS
        + " AND " + OF_TYPE, List.of("StepSucceeded"), rs -> {
          JsonNode event = JSON.readTree(rs.getBytes(2));
          String step = rs.getString(1) + "/" + event.path("node_id").asText() + "/" + event.path("item").asText("");
          counts.merge(step, 1, Integer::sum);
        });
    counts.values().removeIf(n -> n == 1);
    return counts;
  }

  /** Number of events of a type per run. */
  Map<String, Integer> countPerRun(String eventType) {
    Map<String, Integer> counts = new HashMap<>();
    query("SELECT persistence_id, count(*) FROM event_journal WHERE " + RUNS + " AND " + OF_TYPE
        + " GROUP BY persistence_id", List.of(eventType), rs -> counts.put(rs.getString(1), rs.getInt(2)));
    return counts;
  }

  /** Runs whose sequence numbers are not exactly 1..n (an event lost or written twice). */
  Set<String> runsWithGaps() {
    Set<String> runs = new HashSet<>();
    query("SELECT persistence_id FROM event_journal WHERE " + RUNS + " GROUP BY persistence_id "
        + "HAVING count(*) <> max(sequence_number) OR min(sequence_number) <> 1", List.of(),
        rs -> runs.add(rs.getString(1)));
    return runs;
  }

  /** Events of these writers (persistent-actor incarnations) written after {@code afterMillis}. */
  int writtenBy(Set<String> writers, long afterMillis) {
    int[] n = {0};
    if (writers.isEmpty()) return 0;
    query("SELECT count(*) FROM event_journal WHERE writer = ANY (?) AND write_timestamp > ?",
        List.of(writers.toArray(String[]::new), afterMillis), rs -> n[0] = rs.getInt(1));
    return n[0];
  }

  /** The writer of each run's latest event: the incarnation (and so the node) hosting it now. */
  Map<String, String> currentWriters() {
    Map<String, String> writers = new HashMap<>();
    query("SELECT DISTINCT ON (persistence_id) persistence_id, writer FROM event_journal WHERE " + RUNS
        + " ORDER BY persistence_id, sequence_number DESC", List.of(), rs -> writers.put(rs.getString(1), rs.getString(2)));
    return writers;
  }

  interface Row {
    void read(ResultSet rs) throws Exception;
  }

  private void query(String sql, List<Object> parameters, Row row) {
    try (Connection c = db.connect(); PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < parameters.size(); i++) {
        Object p = parameters.get(i);
        if (p instanceof String[] array) s.setArray(i + 1, c.createArrayOf("text", array));
        else s.setObject(i + 1, p);
      }
      try (ResultSet rs = s.executeQuery()) {
        while (rs.next()) row.read(rs);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql, e);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
