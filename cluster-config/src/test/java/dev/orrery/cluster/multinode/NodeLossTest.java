package dev.orrery.cluster.multinode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.SharedPostgres;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Three node processes, 200 runs in flight on a simulated provider with latency, {@code kill -9} of one
 * node: the others down it, rehydrate its runs and re-dispatch their open steps; every run completes and
 * no step's success is persisted twice. Prints the time from the kill until every run moved again.
 */
@ExtendWith(SharedPostgres.class)
class NodeLossTest {
  static final int RUNS = 200;
  static final int STEPS = 12;
  /** What DeadProcessDowning logs when it downs a member. */
  static final String DEAD_PROCESS_DOWNED = "its remoting port refuses connections";

  /**
   * Faster failure handling than production's defaults, for the tests that go through the split-brain
   * resolver (a frozen node, a rolling upgrade), so that they are short.
   */
  static final Map<String, String> FAST_FAILOVER = Map.of(
      "ORRERY_SIM_LATENCY_MS", "700",
      "ORRERY_FAILURE_DETECTOR_PAUSE", "2s",
      "ORRERY_SBR_STABLE_AFTER", "2s",
      "ORRERY_UNREADY_GRACE", "1s");

  @Test
  void runsOfAKilledNodeCompleteElsewhere(SharedPostgres.TestDatabase db) throws Exception {
    var journal = new JournalRows(db);
    // The shipped failure handling: a killed node's port refuses connections, so it is downed as soon as
    // it is unreachable, not after the resolver's stable-after.
    Map<String, String> env = Map.of("ORRERY_SIM_LATENCY_MS", "700", "ORRERY_UNREADY_GRACE", "1s");
    try (var cluster = new LoopbackCluster(db, 3, env, "loss").start()) {
      long submitting = System.nanoTime();
      List<String> runs = ClusterWorkload.submit(cluster, List.of(0, 1, 2), RUNS, STEPS);
      System.out.printf("Submitted %d runs in %d ms%n", RUNS, (System.nanoTime() - submitting) / 1_000_000);
      long killedAt = System.currentTimeMillis();
      cluster.node(2).kill9();
      // Submitting takes longer than a run (12 steps of 700 ms), so the first runs finish before the kill.
      // In flight at the kill: every run without a RunCompleted stamped before it. Asked again each time,
      // because a completion stamped just before the kill may reach the table a little after it.
      Eventually.within(Duration.ofSeconds(60), () -> {
        Set<String> inFlight = inFlightAt(journal, runs, killedAt);
        Map<String, Long> moved = journal.firstWriteAfter(killedAt);
        assertTrue(moved.keySet().containsAll(inFlight),
            () -> (inFlight.size() - moved.keySet().stream().filter(inFlight::contains).count()) + " runs not moved yet");
      });
      Set<String> inFlight = inFlightAt(journal, runs, killedAt);
      assertTrue(inFlight.size() >= RUNS * 3 / 4, "most runs were in flight at the kill: " + inFlight.size());
      Eventually.within(Duration.ofSeconds(30), () -> assertTrue(
          cluster.node(0).printed(DEAD_PROCESS_DOWNED) || cluster.node(1).printed(DEAD_PROCESS_DOWNED),
          "a survivor downed the killed node because its port refused connections"));
      Map<String, Long> moved = journal.firstWriteAfter(killedAt);
      long recovered = inFlight.stream().mapToLong(moved::get).max().orElseThrow() - killedAt;
      System.out.printf("Node loss: %d runs in flight, every one persisted again %d ms after kill -9%n",
          inFlight.size(), recovered);

      cluster.awaitMembersUp(0, 2);
      Eventually.within(Duration.ofSeconds(120), () ->
          assertEquals(RUNS, journal.runsWith("RunCompleted").size(), "runs completed"));
      assertEquals(Map.of(), journal.duplicateSuccesses(), "each step's success persisted once");
      Map<String, Integer> successes = journal.countPerRun("StepSucceeded");
      for (String run : runs) assertEquals(STEPS, successes.get(run), "steps done of " + run);
      assertEquals(Set.of(), journal.runsWithGaps(), "no run lost or doubled an event");
    }
  }

  private static Set<String> inFlightAt(JournalRows journal, List<String> runs, long atMillis) {
    Set<String> inFlight = new HashSet<>(runs);
    inFlight.removeAll(journal.runsWith("RunCompleted", atMillis));
    return inFlight;
  }
}
