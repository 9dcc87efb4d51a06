package dev.orrery.cluster.join;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.orrery.cluster.testing.NodeProcess;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.StreamSupport;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two nodes started at once with no seed nodes, only Cluster Bootstrap over {@code config} discovery (the
 * local stand-in for {@code kubernetes-api}): they find each other's management endpoints, agree that
 * both are there, form one cluster, and a run submitted to either completes.
 */
@ExtendWith(SharedPostgres.class)
class ClusterBootstrapTest {
  @Test
  void nodesFormOneClusterThroughBootstrap(SharedPostgres.TestDatabase db) throws Exception {
    int[] management = {NodeProcess.freePort(), NodeProcess.freePort()};
    String contactPoints = "127.0.0.1:" + management[0] + ",127.0.0.1:" + management[1];
    ExecutorService starting = Executors.newFixedThreadPool(2);
    List<TestNode> nodes = new ArrayList<>();
    try {
      List<Future<TestNode>> started = new ArrayList<>();
      for (int port : management) {
        started.add(starting.submit(() -> TestNode.start(db, Map.of(
            "pekko.management.http.port", port,
            "orrery.cluster.discovery", "config",
            "orrery.cluster.contact-points", contactPoints,
            "pekko.management.cluster.bootstrap.contact-point-discovery.stable-margin", "1s",
            "pekko.management.cluster.bootstrap.contact-point-discovery.interval", "500ms"))));
      }
      for (Future<TestNode> f : started) nodes.add(f.get());
      for (TestNode node : nodes) {
        node.eventually(Duration.ofSeconds(30), () -> {
          var members = Cluster.get(node.node().system()).state().getMembers();
          long up = StreamSupport.stream(members.spliterator(), false)
              .filter(m -> m.status() == MemberStatus.up()).count();
          assertEquals(2, up, "members up: " + members);
        });
      }
      String runId = nodes.get(1).submit(twoStepRun());
      assertEquals("SUCCEEDED", nodes.get(0).awaitFinished(runId, Duration.ofSeconds(30)).get("status").asText());
    } finally {
      starting.shutdownNow();
      for (TestNode node : nodes) node.close();
    }
  }

  private static Map<String, Object> twoStepRun() {
    return Map.of("workflow", Map.of("name", "two", "version", 1, "nodes", List.of(
        Map.of("id", "a", "type", "llm", "prompt", "Say hello"),
        Map.of("id", "b", "type", "llm", "prompt", "Shorten {{a.output}}"))));
  }
}
