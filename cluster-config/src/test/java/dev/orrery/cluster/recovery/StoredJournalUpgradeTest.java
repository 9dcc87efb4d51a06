package dev.orrery.cluster.recovery;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An upgrade over a journal written by the first event format: rows stored before runs were pinned
 * ({@code stored/runs-before-pinning.json}, from runtime-core) go into a real journal and snapshot table,
 * and this code's node reads them through Pekko's serializer and the registered migrations, recovers the
 * waiting run, finishes it, and replays it deterministically; the finished run comes back from its snapshot.
 */
@ExtendWith(SharedPostgres.class)
class StoredJournalUpgradeTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String WAITING = "6722f652-d064-4fb3-ab9e-2b478ad3fc9a";
  private static final String FINISHED = "b838a601-7638-4af2-bf53-3813de9bd052";

  @Test
  void runsStoredInTheFirstFormatRecoverFinishAndReplayOnThisCode(SharedPostgres.TestDatabase db) throws Exception {
    insertStoredRows(db);
    try (TestNode node = TestNode.start(db, Map.of())) {
      JsonNode waiting = node.awaitStatus(WAITING, Set.of("AWAITING_APPROVAL"), Duration.ofSeconds(30));
      assertFalse(waiting.at("/pins/recorded").asBoolean(true), "read as a run that was not pinned: " + waiting);
      assertEquals("SUCCEEDED", waiting.at("/nodes/draft/status").asText());

      JsonNode accepted = node.journal(WAITING).get(0);
      assertEquals(2, accepted.get("version").asInt(), "listed in this code's format: " + accepted);
      assertFalse(accepted.at("/data/pins/recorded").asBoolean(true));
      assertEquals("launch-note", accepted.at("/data/spec/name").asText());

      JsonNode finished = node.awaitFinished(FINISHED, Duration.ofSeconds(30));
      assertEquals("SUCCEEDED", finished.get("status").asText(), "recovered from its first-format snapshot: " + finished);
      assertTrue(finished.at("/outputs/poem").asText().startsWith("Simulated answer"), finished.toString());

      // A run that was not pinned runs what its tenant has active when its node runs, as it always did.
      ApiClient.Response redefined = node.api().postJson("/api/v1/agents", Map.of("name", "campaign_copywriter",
          "category", "marketing", "system_prompt", "Write short copy.",
          "output_schema", Map.of("type", "object", "properties", Map.of("tagline", Map.of("type", "string")),
              "required", List.of("tagline"))));
      assertEquals(201, redefined.status(), redefined.body().toString());
      ApiClient.Response approved = node.api().postJson("/api/v1/runs/" + WAITING + "/approvals/review",
          Map.of("decision", "approve", "comment", "after the upgrade"));
      assertEquals(200, approved.status(), approved.body().toString());
      JsonNode done = node.awaitFinished(WAITING, Duration.ofSeconds(60));
      assertEquals("SUCCEEDED", done.get("status").asText(), done.toString());
      assertTrue(done.at("/nodes/copy/output/tagline").isTextual(), done.at("/nodes/copy").toString());

      JsonNode replay = node.api().postJson("/api/v1/runs/" + WAITING + "/replay", Map.of()).body();
      assertTrue(replay.get("deterministic").asBoolean(), replay.toString());
      assertEquals(node.journal(WAITING).size(), replay.get("events_checked").asInt(), replay.toString());
      JsonNode replayFinished = node.api().postJson("/api/v1/runs/" + FINISHED + "/replay", Map.of()).body();
      assertTrue(replayFinished.get("deterministic").asBoolean(), replayFinished.toString());
      // This code snapshots the run it finished, in its own format.
      node.eventually(Duration.ofSeconds(10), () -> assertEquals(List.of("dev.orrery.core.run.RunState#2"),
          snapshotManifests(db, "run|demo|" + WAITING)));
    }
    // The old rows kept their manifests; what this code appended carries each event's version.
    List<String> manifests = manifests(db, "run|demo|" + WAITING);
    assertEquals("dev.orrery.core.run.RunEvent$RunAccepted", manifests.get(0));
    assertEquals("dev.orrery.core.run.RunEvent$ApprovalRequested", manifests.get(3));
    assertEquals("dev.orrery.core.run.RunEvent$ApprovalGranted#1", manifests.get(4));
    assertTrue(manifests.get(manifests.size() - 1).endsWith("RunCompleted#1"), manifests.toString());
  }

  /**
   * The fixture's rows as they were stored, with one change: their times are moved to now, so the
   * waiting run's deadline (ten minutes after it was accepted) has not passed when this test runs.
   */
  private static void insertStoredRows(SharedPostgres.TestDatabase db) throws Exception {
    JsonNode stored;
    try (InputStream in = StoredJournalUpgradeTest.class.getResourceAsStream("/stored/runs-before-pinning.json")) {
      stored = JSON.readTree(in);
    }
    Instant recordedAt = Instant.parse(stored.at("/journal/0/payload/at").asText());
    long shiftMs = ChronoUnit.MILLIS.between(recordedAt, Instant.now());
    try (Connection c = db.connect()) {
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO event_journal (persistence_id, sequence_number, "
          + "deleted, writer, write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest, event_payload) "
          + "VALUES (?, ?, false, ?, ?, ?, ?, ?, ?)")) {
        for (JsonNode row : stored.get("journal")) {
          insert.setString(1, row.get("persistence_id").asText());
          insert.setLong(2, row.get("sequence_number").asLong());
          insert.setString(3, row.get("writer").asText());
          insert.setLong(4, row.get("write_timestamp").asLong() + shiftMs);
          insert.setString(5, row.get("adapter_manifest").asText());
          insert.setInt(6, row.get("ser_id").asInt());
          insert.setString(7, row.get("ser_manifest").asText());
          insert.setBytes(8, payload(row.get("payload"), shiftMs));
          insert.addBatch();
        }
        insert.executeBatch();
      }
      try (PreparedStatement insert = c.prepareStatement("INSERT INTO snapshot (persistence_id, sequence_number, "
          + "created, snapshot_ser_id, snapshot_ser_manifest, snapshot_payload) VALUES (?, ?, ?, ?, ?, ?)")) {
        for (JsonNode row : stored.get("snapshots")) {
          insert.setString(1, row.get("persistence_id").asText());
          insert.setLong(2, row.get("sequence_number").asLong());
          insert.setLong(3, row.get("created").asLong() + shiftMs);
          insert.setInt(4, row.get("ser_id").asInt());
          insert.setString(5, row.get("ser_manifest").asText());
          insert.setBytes(6, payload(row.get("payload"), shiftMs));
          insert.executeUpdate();
        }
      }
    }
  }

  /** The stored bytes (compact JSON) with every instant moved by {@code shiftMs}. */
  private static byte[] payload(JsonNode payload, long shiftMs) throws Exception {
    JsonNode moved = payload.deepCopy();
    shift(moved, shiftMs);
    return JSON.writeValueAsString(moved).getBytes(StandardCharsets.UTF_8);
  }

  private static void shift(JsonNode node, long shiftMs) {
    if (node.isArray()) node.forEach(n -> shift(n, shiftMs));
    if (!node.isObject()) return;
    ObjectNode object = (ObjectNode) node;
    for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      boolean instantField = field.getKey().equals("at") || field.getKey().endsWith("_at")
          || field.getKey().equals("deadline");
      if (instantField && field.getValue().isTextual()) {
        try {
          field.setValue(object.textNode(Instant.parse(field.getValue().asText()).plusMillis(shiftMs).toString()));
        } catch (DateTimeParseException notAnInstant) {
          // a field of that name that holds something else
        }
      } else {
        shift(field.getValue(), shiftMs);
      }
    }
  }

  private static List<String> snapshotManifests(SharedPostgres.TestDatabase db, String persistenceId) {
    List<String> out = new ArrayList<>();
    try (Connection c = db.connect();
         PreparedStatement q = c.prepareStatement("SELECT snapshot_ser_manifest FROM snapshot WHERE persistence_id = ?")) {
      q.setString(1, persistenceId);
      try (ResultSet r = q.executeQuery()) {
        while (r.next()) out.add(r.getString(1));
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return out;
  }

  private static List<String> manifests(SharedPostgres.TestDatabase db, String persistenceId) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = db.connect();
         PreparedStatement q = c.prepareStatement(
             "SELECT event_ser_manifest FROM event_journal WHERE persistence_id = ? ORDER BY sequence_number")) {
      q.setString(1, persistenceId);
      try (ResultSet r = q.executeQuery()) {
        while (r.next()) out.add(r.getString(1));
      }
    }
    return out;
  }
}
