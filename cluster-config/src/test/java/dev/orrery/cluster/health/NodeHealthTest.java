package dev.orrery.cluster.health;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.orrery.cluster.testing.ApiClient;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What a load balancer and Kubernetes' probes see: management's {@code /alive} and {@code /ready} (and the
 * edge's {@code /ready}) say ready once the node is up, and on shutdown readiness goes off first while the
 * node still serves requests for the unready grace, before its HTTP port closes.
 */
@ExtendWith(SharedPostgres.class)
class NodeHealthTest {
  private static final ActorTestKit kit = ActorTestKit.create();

  @AfterAll
  static void stopKit() {
    kit.shutdownTestKit();
  }

  @Test
  void readinessTurnsOffBeforeTheNodeStopsServing(SharedPostgres.TestDatabase db) throws Exception {
    TestNode node = TestNode.start(db, Map.of("orrery.shutdown.unready-grace", "3s"));
    String management = node.node().managementUrl().orElseThrow();
    var probes = new ApiClient(management.replaceAll("/$", ""), null);
    var edge = new ApiClient(node.node().baseUrl(), null);
    TestProbe<Object> probe = kit.createTestProbe();
    assertEquals(200, probes.get("/alive").status());
    probe.awaitAssert(Duration.ofSeconds(20), Duration.ofMillis(100), () -> {
      assertEquals(200, probes.get("/ready").status(), () -> probes.get("/ready").body().toString());
      assertEquals(200, edge.get("/ready").status());
      return null;
    });

    CompletionStage<Done> stopped = node.node().stop();
    probe.awaitAssert(Duration.ofSeconds(5), Duration.ofMillis(50), () -> {
      // Management answers 500 "Not Healthy"; any status >= 400 fails a Kubernetes probe.
      assertEquals(500, probes.get("/ready").status());
      return null;
    });
    // Not ready, yet still serving: requests that reach it in the grace period are answered.
    assertEquals(503, edge.get("/ready").status());
    assertEquals(200, edge.get("/health").status());
    assertEquals(200, probes.get("/alive").status(), "liveness does not follow readiness");
    stopped.toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
  }
}
