package dev.orrery.cluster.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.orrery.cluster.testing.SharedPostgres.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SharedPostgres.class)
class SharedPostgresTest {

  private final TestDatabase classDatabase;

  SharedPostgresTest(TestDatabase classDatabase) {
    this.classDatabase = classDatabase;
  }

  @Test
  void aTestClassSeesOneDatabaseAndEveryNewDatabaseIsFresh(TestDatabase db) throws Exception {
    assertEquals(classDatabase, db);
    TestDatabase other = SharedPostgres.newDatabase();
    assertNotEquals(db.jdbcUrl(), other.jdbcUrl());
    assertTrue(db.jdbcUrl().matches("jdbc:postgresql://127\\.0\\.0\\.1:\\d+/orrery_test_\\d+\\?reWriteBatchedInserts=true"),
        db.jdbcUrl());
    assertEquals(0, count(other, "SELECT count(*) FROM event_journal", null), "schema applied, no rows");
  }

  @Test
  void persistenceConfigPointsJournalSnapshotsAndQueriesAtTheTestDatabase(TestDatabase db) throws Exception {
    Config config = db.persistenceConfig()
        .withFallback(ConfigFactory.parseString(
            "pekko.persistence.journal.plugin = jdbc-journal\n"
                + "pekko.persistence.snapshot-store.plugin = jdbc-snapshot-store\n"))
        // reference.conf only: this test is about the database settings, not the node's application.conf.
        .withFallback(ConfigFactory.defaultReference());
    assertEquals(db.jdbcUrl(), config.getString("pekko-persistence-jdbc.shared-databases.slick.db.url"));
    assertEquals("slick", config.getString("jdbc-read-journal.use-shared-db"));

    ActorTestKit kit = ActorTestKit.create("SharedPostgresTest", config);
    try {
      TestProbe<Done> done = kit.createTestProbe();
      ActorRef<Notes.Command> notes = kit.spawn(new Notes(PersistenceId.ofUniqueId("notes-1")));
      for (String text : List.of("a", "b", "c")) {
        notes.tell(new Notes.Add(text, done.getRef()));
        done.expectMessage(Done.getInstance());
      }
      kit.stop(notes);

      TestProbe<List<String>> state = kit.createTestProbe();
      kit.spawn(new Notes(PersistenceId.ofUniqueId("notes-1"))).tell(new Notes.Get(state.getRef()));
      assertEquals(List.of("a", "b", "c"), state.receiveMessage(), "recovered from the journal");

      JdbcReadJournal queries = PersistenceQuery.get(kit.system())
          .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
      List<EventEnvelope> events = queries.currentEventsByPersistenceId("notes-1", 0, Long.MAX_VALUE)
          .runWith(Sink.seq(), kit.system()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertEquals(List.of("a", "b", "c"), events.stream().map(EventEnvelope::event).toList());
    } finally {
      kit.shutdownTestKit();
    }
    assertEquals(3, count(db, "SELECT count(*) FROM event_journal WHERE persistence_id = ?", "notes-1"));
  }

  private static long count(TestDatabase db, String sql, String parameter) throws SQLException {
    try (Connection c = db.connect(); PreparedStatement s = c.prepareStatement(sql)) {
      if (parameter != null) {
        s.setString(1, parameter);
      }
      try (ResultSet rs = s.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** The smallest event-sourced actor: its events are strings, which Pekko serializes out of the box. */
  static final class Notes extends EventSourcedBehavior<Notes.Command, String, List<String>> {
    interface Command {}

    record Add(String text, ActorRef<Done> replyTo) implements Command {}

    record Get(ActorRef<List<String>> replyTo) implements Command {}

    Notes(PersistenceId id) {
      super(id);
    }

    @Override
    public List<String> emptyState() {
      return List.of();
    }

    @Override
    public CommandHandler<Command, String, List<String>> commandHandler() {
      return newCommandHandlerBuilder().forAnyState()
          .onCommand(Add.class, (s, c) -> Effect().persist(c.text()).thenReply(c.replyTo(), next -> Done.getInstance()))
          .onCommand(Get.class, (s, c) -> Effect().reply(c.replyTo(), s))
          .build();
    }

    @Override
    public EventHandler<List<String>, String> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onEvent(String.class, (s, e) -> {
        List<String> next = new ArrayList<>(s);
        next.add(e);
        return List.copyOf(next);
      }).build();
    }
  }
}
