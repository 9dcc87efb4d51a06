package dev.orrery.core.stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunIds;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.javadsl.CurrentEventsByPersistenceIdQuery;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Reads a run's journal: {@code GET /api/v1/runs/{id}/journal}, the replay of a stream before it goes
 * live, time travel and replay checks.
 */
public final class RunJournal {
  private final ActorSystem<?> system;
  private final CurrentEventsByPersistenceIdQuery query;
  private final ObjectMapper json;

  public RunJournal(ActorSystem<?> system, String readJournalPluginId) {
    this.system = system;
    this.query = PersistenceQuery.get(system)
        .getReadJournalFor(CurrentEventsByPersistenceIdQuery.class, readJournalPluginId);
    this.json = JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  /** Every event of the run from {@code fromSeq} on, in order; empty when the run does not exist. */
  public CompletionStage<List<RunUpdate>> read(String tenantId, String runId, long fromSeq) {
    return updates(tenantId, runId, fromSeq, Long.MAX_VALUE).runWith(Sink.seq(), system);
  }

  /** The events {@code fromSeq..toSeq} (inclusive) as stream messages. */
  public Source<RunUpdate, NotUsed> updates(String tenantId, String runId, long fromSeq, long toSeq) {
    return envelopes(tenantId, runId, fromSeq, toSeq)
        .map(e -> RunUpdate.persisted(e.sequenceNr(), runId, (RunEvent) e.event(), json));
  }

  /** The events {@code 1..toSeq} themselves, for folding. */
  public CompletionStage<List<RunEvent>> events(String tenantId, String runId, long toSeq) {
    return envelopes(tenantId, runId, 1, toSeq).map(e -> (RunEvent) e.event()).runWith(Sink.seq(), system);
  }

  private Source<EventEnvelope, NotUsed> envelopes(String tenantId, String runId, long fromSeq, long toSeq) {
    String persistenceId = RunIds.persistenceId(RunIds.entityId(tenantId, runId)).id();
    return query.currentEventsByPersistenceId(persistenceId, Math.max(1, fromSeq), toSeq);
  }

  public ObjectMapper json() {
    return json;
  }
}
