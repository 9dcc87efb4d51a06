package dev.orrery.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.orrery.cluster.testing.SharedPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fence's decisions on a clock the test moves, and what its session setup does to a frozen writer's
 * transaction in a real PostgreSQL (the end-to-end check, a node process frozen with SIGSTOP, is
 * {@code multinode.SplitBrainTest}).
 */
@ExtendWith(SharedPostgres.class)
class PauseFenceTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final PauseFence fence = new PauseFence(now::get);
  private final List<Duration> breaches = new ArrayList<>();

  PauseFenceTest() {
    fence.arm(Duration.ofSeconds(6), breaches::add);
  }

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  @Test
  void aPauseShorterThanTheDowningTimeHoldsNothing() {
    advance(Duration.ofMillis(100));
    fence.tick();
    assertTrue(fence.allowsWrites(), "ticking normally");
    advance(Duration.ofSeconds(4));
    assertTrue(fence.allowsWrites(), "frozen past the failure detector, but nobody can have taken the runs yet");
    fence.tick();
    assertTrue(fence.allowsWrites());
    assertEquals(List.of(), breaches);
  }

  @Test
  void aWriteRightAfterALongFreezeIsRefusedBeforeTheTickerHasRun() {
    advance(Duration.ofMillis(100));
    fence.tick();
    advance(Duration.ofSeconds(6));
    assertFalse(fence.allowsWrites(), "frozen long enough to be downed, ticker not run yet");
    assertEquals(List.of(), breaches, "the ticker has not seen it yet");
  }

  @Test
  void aPauseLongEnoughToBeDownedClosesTheFenceForGood() {
    advance(Duration.ofSeconds(7));
    assertFalse(fence.allowsWrites());
    fence.tick();
    assertTrue(fence.closed());
    assertEquals(List.of(Duration.ofSeconds(7)), breaches, "the node was told to down itself once");
    advance(Duration.ofMillis(100));
    fence.tick();
    assertFalse(fence.allowsWrites(), "closed for good, however fresh the ticks");
    assertEquals(1, breaches.size());
  }

  @Test
  void aWriterFrozenInsideItsTransactionLosesItsLocksToTheNextWriter(SharedPostgres.TestDatabase db)
      throws Exception {
    var config = ConfigFactory.parseString("""
        pekko.cluster.failure-detector.acceptable-heartbeat-pause = 200ms
        pekko.cluster.split-brain-resolver.stable-after = 400ms
        """);
    assertEquals("SET idle_in_transaction_session_timeout = 400", PauseFence.sessionSetup(config));
    try (Connection setup = db.connect(); Statement st = setup.createStatement()) {
      st.execute("CREATE TABLE frozen_writer (persistence_id text, sequence_number bigint,"
          + " PRIMARY KEY (persistence_id, sequence_number))");
    }
    try (Connection frozen = db.connect(); Connection next = db.connect()) {
      try (Statement st = frozen.createStatement()) {
        st.execute(PauseFence.sessionSetup(config));
      }
      // The frozen process: its insert is done, its commit never comes.
      frozen.setAutoCommit(false);
      try (Statement st = frozen.createStatement()) {
        st.executeUpdate("INSERT INTO frozen_writer VALUES ('run|t|r', 7)");
      }
      // The majority's incarnation of the run writes the same key: it waits for the frozen transaction,
      // which PostgreSQL ends, so the insert goes through.
      var written = CompletableFuture.supplyAsync(() -> {
        try (Statement st = next.createStatement()) {
          return st.executeUpdate("INSERT INTO frozen_writer VALUES ('run|t|r', 7)");
        } catch (SQLException e) {
          throw new IllegalStateException(e);
        }
      });
      assertEquals(1, written.get(30, TimeUnit.SECONDS), "the next writer's row");
      // Woken, the frozen process cannot commit what it wrote.
      assertThrows(SQLException.class, frozen::commit);
    }
  }
}
