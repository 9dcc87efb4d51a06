package dev.orrery.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.RouteDefinition;
import dev.orrery.core.stream.RunUpdate;
import dev.orrery.core.workflow.CompiledWorkflow;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.apache.pekko.serialization.jackson.JacksonMigration;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Run events and snapshots carry their format's version, and rows stored in an earlier format read into
 * this code's classes through Pekko's own serializer and the migrations registered with it. The rows are
 * {@code stored/runs-before-pinning.json}: copied from a node's journal before runs were pinned.
 */
class RunFormatsTest {
  /** A node's serializer: Pekko's Jackson modules without the Scala one, as cluster-config configures it. */
  private static final Config NODE_SERIALIZATION = ConfigFactory.parseString("""
      pekko.serialization.jackson.jackson-modules = [
        "org.apache.pekko.serialization.jackson.PekkoJacksonModule",
        "org.apache.pekko.serialization.jackson.PekkoTypedJacksonModule",
        "org.apache.pekko.serialization.jackson.PekkoStreamJacksonModule",
        "com.fasterxml.jackson.module.paramnames.ParameterNamesModule",
        "com.fasterxml.jackson.datatype.jdk8.Jdk8Module",
        "com.fasterxml.jackson.datatype.jsr310.JavaTimeModule"
      ]""");
  private static final ActorTestKit kit = ActorTestKit.create(NODE_SERIALIZATION.withFallback(ConfigFactory.load()));
  private static final Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
  private static final ObjectMapper json =
      JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  /** One stored row: what pekko-persistence-jdbc keeps of an event or a snapshot. */
  record StoredRow(String persistenceId, long sequenceNumber, int serId, String manifest, byte[] payload) {
    Object read() {
      return serialization.deserialize(payload, serId, manifest).get();
    }
  }

  record Stored(List<StoredRow> journal, List<StoredRow> snapshots) {
    List<RunEvent> events(String persistenceId) {
      List<RunEvent> events = new ArrayList<>();
      for (StoredRow row : journal) {
        if (row.persistenceId().equals(persistenceId)) events.add((RunEvent) row.read());
      }
      return events;
    }
  }

  static Stored stored() throws IOException {
    try (InputStream in = RunFormatsTest.class.getResourceAsStream("/stored/runs-before-pinning.json")) {
      JsonNode file = new ObjectMapper().readTree(in);
      return new Stored(rows(file.get("journal")), rows(file.get("snapshots")));
    }
  }

  private static List<StoredRow> rows(JsonNode rows) throws IOException {
    List<StoredRow> out = new ArrayList<>();
    for (JsonNode r : rows) {
      out.add(new StoredRow(r.get("persistence_id").asText(), r.get("sequence_number").asLong(), r.get("ser_id").asInt(),
          r.get("ser_manifest").asText(),
          new ObjectMapper().writeValueAsString(r.get("payload")).getBytes(StandardCharsets.UTF_8)));
    }
    return out;
  }

  static final String WAITING = "run|demo|6722f652-d064-4fb3-ab9e-2b478ad3fc9a";
  static final String FINISHED = "run|demo|b838a601-7638-4af2-bf53-3813de9bd052";

  @Test
  void everyStoredRunClassHasItsVersionRegisteredWithTheSerializer() throws Exception {
    Config migrations = kit.system().settings().config().getConfig("pekko.serialization.jackson.migrations");
    List<Class<?>> stored = new ArrayList<>(List.of(RunEvent.class.getPermittedSubclasses()));
    stored.add(RunState.class);
    for (Class<?> c : stored) {
      Object registered = migrations.root().unwrapped().get(c.getName());
      assertTrue(registered != null, c.getName() + " has a migration in reference.conf");
      var migration = (JacksonMigration) Class.forName((String) registered).getDeclaredConstructor().newInstance();
      assertEquals(RunFormats.version(c), migration.currentVersion(), c.getSimpleName() + ": RunFormats agrees");
    }
    assertEquals(2, RunFormats.version(RunEvent.RunAccepted.class));
    assertEquals(2, RunFormats.version(RunState.class));
    assertEquals(1, RunFormats.version(RunEvent.StepSucceeded.class));
  }

  @Test
  void theSerializerWritesEachClasssVersionIntoItsManifestAndReadsItBack() {
    var pins = new RunPins(true, Map.of("write", new RunPins.AgentPin("writer", 3)),
        Map.of("draft", new RouteDefinition("default", null, "fallback", 1,
            List.of(new RouteDefinition.Candidate("simulated", "sim-small", null)))));
    RunEvent.RunAccepted accepted = new RunEvent.RunAccepted("r1", "demo",
        dev.orrery.core.workflow.WorkflowParser.parse("name: w\nnodes: [{id: draft, type: llm, prompt: hi}]"),
        Map.of(), null, "h", null, pins, Instant.parse("2026-11-23T10:00:00Z"));
    RunEvent scheduled = new RunEvent.StepScheduled("draft", null, 1, Instant.parse("2026-11-23T10:00:00Z"));
    RunState state = RunState.empty("demo", "r1").apply(accepted);

    assertEquals(RunEvent.RunAccepted.class.getName() + "#2", manifestOf(accepted));
    assertEquals(RunEvent.StepScheduled.class.getName() + "#1", manifestOf(scheduled));
    assertEquals(RunState.class.getName() + "#2", manifestOf(state));
    for (Object o : List.of(accepted, scheduled, state)) {
      Serializer s = serialization.findSerializerFor(o);
      Object back = serialization.deserialize(s.toBinary(o), s.identifier(), manifestOf(o)).get();
      assertEquals(json.valueToTree(o), json.valueToTree(back), o.getClass().getSimpleName() + " round trip");
    }
  }

  @Test
  void rowsStoredInTheFirstFormatReadIntoTheCurrentClassesAsRunsThatWereNotPinned() throws IOException {
    Stored rows = stored();
    for (StoredRow row : rows.journal()) {
      assertFalse(row.manifest().contains("#"), "written before events carried a version: " + row.manifest());
    }
    List<RunEvent> waiting = rows.events(WAITING);
    var accepted = assertInstanceOf(RunEvent.RunAccepted.class, waiting.get(0));
    assertEquals(RunPins.NOT_RECORDED, accepted.pins());
    assertEquals("launch-note", accepted.spec().name());
    assertEquals("campaign_copywriter", accepted.spec().node("copy").orElseThrow().agent());
    RunState s = RunDecider.applyAll(RunState.empty("demo", accepted.runId()), waiting);
    assertEquals(RunStatus.AWAITING_APPROVAL, s.status());
    assertEquals(null, s.pins().agentVersion("copy"), "its agent node will run the active version, as it would have");
  }

  @Test
  void aFirstFormatRunAcceptedReadsOnlyThroughItsMigration() throws IOException {
    StoredRow row = stored().journal().get(0);
    assertEquals(RunEvent.RunAccepted.class.getName(), row.manifest());
    // Read as if its class had no migration: the required pins are missing.
    var refused = assertThrows(Exception.class, () -> json.readValue(row.payload(), RunEvent.RunAccepted.class));
    assertTrue(String.valueOf(refused.getMessage()).contains("RunAcceptedMigration"), refused.getMessage());
  }

  @Test
  void theFirstFormatSnapshotReadsAsTheStateItsEventsFoldTo() throws IOException {
    Stored rows = stored();
    StoredRow snapshot = rows.snapshots().get(0);
    assertEquals(RunState.class.getName(), snapshot.manifest());
    RunState fromSnapshot = assertInstanceOf(RunState.class, snapshot.read());
    List<RunEvent> events = rows.events(FINISHED);
    RunState folded = RunDecider.applyAll(RunState.empty("demo", fromSnapshot.runId()), events);
    assertEquals(RunStatus.SUCCEEDED, fromSnapshot.status());
    assertEquals(RunPins.NOT_RECORDED, fromSnapshot.pins());
    assertEquals(json.valueToTree(folded), json.valueToTree(fromSnapshot));
  }

  @Test
  void theStoredRunsReplayDeterministically() throws IOException {
    Stored rows = stored();
    for (String run : List.of(WAITING, FINISHED)) {
      List<RunEvent> events = rows.events(run);
      RunReplay.Result result = new RunReplay(RunDecider.STANDARD, CompiledWorkflow::compile, json).check(events);
      assertTrue(result.deterministic(), () -> run + ": " + result.divergence());
      assertEquals(events.size(), result.eventsChecked());
    }
  }

  @Test
  void aJournalListingCarriesEachEventsVersionAndReadsBackThroughTheSameMigrations() throws IOException {
    Stored rows = stored();
    Map<Long, RunUpdate> listing = new LinkedHashMap<>();
    long seq = 1;
    for (RunEvent e : rows.events(WAITING)) listing.put(seq, RunUpdate.persisted(seq++, "r", e, json));
    RunUpdate first = listing.get(1L);
    assertEquals(2, first.version(), "listed in this code's format");
    assertTrue(first.data().has("pins"));
    assertEquals(1, listing.get(2L).version());
    RunEvent back = RunReplay.eventOf(first.type(), first.version(), first.data(), json);
    assertEquals(json.valueToTree(rows.events(WAITING).get(0)), json.valueToTree(back));

    // A listing saved before listings carried versions (the replay fixtures) is of version 1.
    JsonNode firstFormat = json.readTree(rows.journal().get(0).payload());
    var read = (RunEvent.RunAccepted) RunReplay.eventOf("RunAccepted", null, firstFormat, json);
    assertEquals(RunPins.NOT_RECORDED, read.pins());
    assertThrows(IllegalArgumentException.class, () -> RunReplay.eventOf("RunAccepted", 3, firstFormat, json),
        "a format newer than this code is refused, not guessed at");
  }

  private static String manifestOf(Object o) {
    return Serializers.manifestFor(serialization.findSerializerFor(o), o);
  }
}
