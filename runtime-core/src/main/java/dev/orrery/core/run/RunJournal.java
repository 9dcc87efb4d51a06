package dev.orrery.core.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.apache.pekko.stream.javadsl.Sink;

/** Reads a run's journal as the edge contract lists it: {@code GET /api/v1/runs/{id}/journal}. */
public final class RunJournal {

  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Entry(
      @JsonProperty("seq") long seq,
      @JsonProperty("type") String type,
      @JsonProperty("at") Instant at,
      @JsonProperty("node_id") String nodeId,
      @JsonProperty("data") JsonNode data) {}

  private final ActorSystem<?> system;
  private final CurrentEventsByPersistenceIdQuery query;
  private final ObjectMapper json;

  public RunJournal(ActorSystem<?> system, String readJournalPluginId) {
    this.system = system;
    this.query = PersistenceQuery.get(system)
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournalPluginId);
    this.json = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  /** Every event of the run in order; empty when the run does not exist. */
  public CompletionStage<List<Entry>> read(String tenantId, String runId, long fromSeq) {
    String persistenceId = RunIds.persistenceId(RunIds.entityId(tenantId, runId)).id();
    return query.currentEventsByPersistenceId(persistenceId, Math.max(1, fromSeq), Long.MAX_VALUE)
        .map(this::entryOf)
        .runWith(Sink.seq(), system);
  }

  private Entry entryOf(EventEnvelope envelope) {
    RunEvent event = (RunEvent) envelope.event();
    return new Entry(envelope.sequenceNr(), event.getClass().getSimpleName(), event.at(), event.nodeId(),
        json.valueToTree(event));
  }
}
