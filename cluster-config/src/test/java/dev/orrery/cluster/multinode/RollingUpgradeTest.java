package dev.orrery.cluster.multinode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Operations with runs in flight, on three node processes: a rolling upgrade (each node in turn gets
 * SIGTERM and comes back with a newer app-version) while a client keeps submitting to the nodes that say
 * they are ready, then a stop of the whole cluster and a start. Every run completes without being
 * resubmitted, no event is lost or doubled, and no request to a ready node sees a 5xx or a refused
 * connection.
 */
@ExtendWith(SharedPostgres.class)
class RollingUpgradeTest {
  static final int STEPS = 6;

  @Test
  void rollingUpgradeThenWholeClusterRestart(SharedPostgres.TestDatabase db) throws Exception {
    var journal = new JournalRows(db);
    Map<String, String> env = new HashMap<>(NodeLossTest.FAST_FAILOVER);
    env.put("ORRERY_SIM_LATENCY_MS", "300");
    env.put("ORRERY_APP_VERSION", "1.0.0");
    env.put("ORRERY_UNREADY_GRACE", "2s");
    try (var cluster = new LoopbackCluster(db, 3, env, "rolling").start()) {
      // Like a load balancer: route only to nodes whose /ready says so, checked every 100 ms.
      AtomicIntegerArray ready = new AtomicIntegerArray(cluster.size());
      ConcurrentLinkedQueue<String> runs = new ConcurrentLinkedQueue<>();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      AtomicInteger sent = new AtomicInteger();
      AtomicInteger next = new AtomicInteger();
      // The slowest answer, printed: a stall that stays under the edge's timeout shows here first.
      java.util.concurrent.atomic.AtomicLong slowestMs = new java.util.concurrent.atomic.AtomicLong();
      ScheduledExecutorService load = Executors.newScheduledThreadPool(3);
      load.scheduleAtFixedRate(() -> {
        for (int i = 0; i < cluster.size(); i++) ready.set(i, cluster.ready(i) ? 1 : 0);
      }, 0, 100, TimeUnit.MILLISECONDS);
      load.scheduleAtFixedRate(() -> {
        int node = -1;
        for (int k = 0; k < cluster.size() && node < 0; k++) {
          int candidate = Math.floorMod(next.getAndIncrement(), cluster.size());
          if (ready.get(candidate) == 1) node = candidate;
        }
        if (node < 0) return;
        ApiClient api = cluster.api(node);
        try {
          sent.incrementAndGet();
          long t0 = System.nanoTime();
          ApiClient.Response r = api.postJson("/api/v1/runs", ClusterWorkload.chain(STEPS));
          slowestMs.accumulateAndGet((System.nanoTime() - t0) / 1_000_000, Math::max);
          if (r.status() != 201) failures.add("node " + node + ": " + r.status() + " " + r.body());
          else runs.add(ClusterWorkload.persistenceId(r.body().get("run_id").asText()));
        } catch (RuntimeException e) {
          failures.add("node " + node + ": " + e);
        }
      }, 200, 150, TimeUnit.MILLISECONDS);

      try {
        for (int i = 0; i < cluster.size(); i++) {
          int node = i;
          Eventually.within(Duration.ofSeconds(30), () -> assertTrue(runs.size() >= 10 * (node + 1),
              "runs submitted before upgrading node " + node + ": " + runs.size()));
          cluster.node(i).terminate();
          cluster.restart(i, Map.of("ORRERY_APP_VERSION", "1.0.1"));
          cluster.awaitMembersUp(i, cluster.size());
          Eventually.within(Duration.ofSeconds(60), () -> assertTrue(cluster.ready(node), "node " + node + " ready"));
        }
        Eventually.within(Duration.ofSeconds(30), () -> assertTrue(runs.size() >= 40, "runs after the upgrade"));
      } finally {
        load.shutdown(); // no interrupt: a request in flight finishes
        load.awaitTermination(30, TimeUnit.SECONDS);
      }
      assertEquals(List.of(), new ArrayList<>(failures), "requests to ready nodes that failed, of " + sent.get());
      Set<String> submitted = Set.copyOf(runs);
      System.out.printf("Rolling upgrade: %d runs submitted across the upgrade, none refused, the slowest answered in %d ms%n",
          submitted.size(), slowestMs.get());

      // The whole cluster stops with runs in flight and starts again; nobody resubmits anything.
      Set<String> unfinished = new java.util.HashSet<>(submitted);
      unfinished.removeAll(journal.runsWith("RunCompleted"));
      List<String> more = ClusterWorkload.submit(cluster, List.of(0, 1, 2), 30, STEPS * 2);
      unfinished.addAll(more);
      var stops = Executors.newFixedThreadPool(cluster.size());
      List<java.util.concurrent.Future<?>> stopped = new ArrayList<>();
      for (int i = 0; i < cluster.size(); i++) {
        int node = i;
        stopped.add(stops.submit(() -> {
          cluster.node(node).terminate();
          return null;
        }));
      }
      for (var f : stopped) f.get();
      stops.shutdown();
      Set<String> inFlightAtStop = new java.util.HashSet<>(unfinished);
      inFlightAtStop.removeAll(journal.runsWith("RunCompleted"));
      assertTrue(!inFlightAtStop.isEmpty(), "runs were in flight when the cluster stopped");
      cluster.restartAll();

      Set<String> all = new java.util.HashSet<>(submitted);
      all.addAll(more);
      Eventually.within(Duration.ofSeconds(120), () -> assertTrue(journal.runsWith("RunCompleted").containsAll(all),
          "every run completed"));
      System.out.printf("Whole-cluster restart: %d runs in flight at the stop finished after the start%n",
          inFlightAtStop.size());
      assertEquals(Map.of(), journal.duplicateSuccesses(), "each step's success persisted once");
      assertEquals(Set.of(), journal.runsWithGaps(), "no run lost or doubled an event");
      Map<String, Integer> accepted = journal.countPerRun("RunAccepted");
      for (String run : all) assertEquals(1, accepted.get(run), "accepted once: " + run);
    }
  }
}
