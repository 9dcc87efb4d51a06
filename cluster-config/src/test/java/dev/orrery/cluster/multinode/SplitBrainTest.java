package dev.orrery.cluster.multinode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes cut off from a third: its process is frozen with SIGSTOP for longer than the failure detector
 * and the split-brain resolver allow. The majority downs it and carries on with its runs; when it wakes
 * it finds itself downed and stops, and none of the run incarnations it hosted writes to the journal again.
 */
@ExtendWith(SharedPostgres.class)
class SplitBrainTest {
  static final int RUNS = 60;
  static final int STEPS = 10;

  @Test
  void theMinorityIsDownedAndStopsWriting(SharedPostgres.TestDatabase db) throws Exception {
    var journal = new JournalRows(db);
    try (var cluster = new LoopbackCluster(db, 3, NodeLossTest.FAST_FAILOVER, "split").start()) {
      List<String> runs = ClusterWorkload.submit(cluster, List.of(0, 1), RUNS, STEPS);
      Eventually.within(Duration.ofSeconds(60), () ->
          assertEquals(RUNS, journal.runsWith("StepSucceeded").size(), "runs with a step done"));

      // The incarnations the frozen node hosts: the writers of its runs' latest events.
      Set<String> shards = localShards(cluster, 2);
      Map<String, String> writers = journal.currentWriters();
      Set<String> minorityRuns = new HashSet<>();
      Set<String> minorityWriters = new HashSet<>();
      for (String run : runs) {
        String entityId = run.substring("run|".length());
        if (shards.contains(String.valueOf(Math.abs(entityId.hashCode() % 100)))) {
          minorityRuns.add(run);
          minorityWriters.add(writers.get(run));
        }
      }
      assertFalse(minorityRuns.isEmpty(), "the node to freeze hosts runs (shards " + shards + ")");

      cluster.node(2).freeze();
      long frozenAt = System.currentTimeMillis();
      try {
        Eventually.within(Duration.ofSeconds(60), () -> {
          Map<String, String> members = cluster.members(0);
          assertEquals(2, members.size(), () -> "the frozen node is downed and removed: " + members);
        });
        // A stopped process's port still accepts connections (the kernel does), so it was the resolver
        // that downed it, not the dead-process prober.
        String downedAsDead = NodeLossTest.DEAD_PROCESS_DOWNED;
        assertFalse(cluster.node(0).printed(downedAsDead) || cluster.node(1).printed(downedAsDead),
            "the frozen node was downed as a dead process");
        // Unfinished at the freeze: no RunCompleted stamped before it (one stamped just before may reach
        // the table a little later, so asked again each time).
        Eventually.within(Duration.ofSeconds(60), () -> {
          Set<String> unfinished = new HashSet<>(minorityRuns);
          unfinished.removeAll(journal.runsWith("RunCompleted", frozenAt));
          assertTrue(journal.firstWriteAfter(frozenAt).keySet().containsAll(unfinished), "the majority took its runs over");
        });
      } finally {
        cluster.node(2).thaw();
      }
      // Awake, it learns it was downed and shuts itself down.
      cluster.node(2).awaitExit(Duration.ofSeconds(60));

      Eventually.within(Duration.ofSeconds(120), () ->
          assertTrue(journal.runsWith("RunCompleted").containsAll(runs), "every run completed"));
      assertEquals(0, journal.writtenBy(minorityWriters, frozenAt),
          "events written by the downed node's run incarnations after it was frozen");
      assertEquals(Map.of(), journal.duplicateSuccesses(), "each step's success persisted once");
      assertEquals(Set.of(), journal.runsWithGaps(), "no run lost or doubled an event");
      System.out.printf("Split brain: %d runs moved off the frozen node; it wrote nothing after waking%n",
          minorityRuns.size());
    }
  }

  /** The shards of runs that node {@code i} hosts, from its management endpoint. */
  private static Set<String> localShards(LoopbackCluster cluster, int i) {
    JsonNode body = new ApiClient(cluster.ports(i).managementUrl(), null).get("/cluster/shards/run").body();
    Set<String> shards = new HashSet<>();
    for (JsonNode region : body.get("regions")) shards.add(region.get("shardId").asText());
    return shards;
  }
}
