package dev.orrery.cluster.multinode;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.orrery.cluster.testing.ApiClient;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Runs for the cluster tests: a chain of LLM steps on the simulated provider, submitted across the nodes. */
final class ClusterWorkload {
  private ClusterWorkload() {}

  /** A chain of {@code steps} LLM nodes, each reading the one before. */
  static Map<String, Object> chain(int steps) {
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      nodes.add(i == 0 ? Map.of("id", "s0", "type", "llm", "prompt", "Begin {{inputs.topic}}")
          : Map.of("id", "s" + i, "type", "llm", "prompt", "Go on from {{s" + (i - 1) + ".output}}"));
    }
    return Map.of("workflow", Map.of("name", "chain", "version", 1,
            "inputs", Map.of("topic", Map.of("type", "string")), "nodes", nodes),
        "inputs", Map.of("topic", "orbits"));
  }

  /** Submits {@code count} runs round-robin over the given nodes, 8 at a time; returns their persistence ids. */
  static List<String> submit(LoopbackCluster cluster, List<Integer> nodes, int count, int steps) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    ConcurrentLinkedQueue<String> ids = new ConcurrentLinkedQueue<>();
    try {
      List<Future<?>> sent = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        ApiClient api = cluster.api(nodes.get(i % nodes.size()));
        sent.add(pool.submit(() -> {
          ApiClient.Response r = api.postJson("/api/v1/runs", chain(steps));
          assertEquals(201, r.status(), () -> r.body().toString());
          ids.add(persistenceId(r.body().get("run_id").asText()));
        }));
      }
      for (Future<?> f : sent) f.get();
    } finally {
      pool.shutdownNow();
    }
    return List.copyOf(ids);
  }

  static String persistenceId(String runId) {
    return "run|" + LoopbackCluster.TENANT + "|" + runId;
  }
}
