package dev.orrery.ledger.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.orrery.ledger.testing.OneNodeCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Giving a run's slot back through real sharding on a one-node cluster, with a tenant entity that loses
 * the first answers the way a tenant in the middle of a move does (it never answers them).
 */
class TenantsTest {
  private static ActorTestKit kit;
  private static Tenants tenants;
  /** Every EndRun the entities received, as tenant:run; "lossy-N" ignores its first N, "refusing" refuses. */
  private static final List<String> received = Collections.synchronizedList(new ArrayList<>());

  @BeforeAll
  static void start() {
    kit = OneNodeCluster.start();
    ClusterSharding.get(kit.system()).init(Entity.of(TenantEntity.KEY, ctx -> {
      String tenant = ctx.getEntityId();
      int drops = tenant.startsWith("lossy-") ? Integer.parseInt(tenant.substring(6)) : 0;
      int[] seen = {0};
      return Behaviors.receive(TenantEntity.Command.class)
          .onMessage(TenantEntity.EndRun.class, end -> {
            received.add(tenant + ":" + end.runId());
            if (tenant.equals("refusing")) end.replyTo().tell(StatusReply.error("NOT_FOUND: no tenant refusing"));
            else if (seen[0]++ >= drops) end.replyTo().tell(StatusReply.ack());
            return Behaviors.same();
          })
          .build();
    }));
    tenants = new Tenants(kit.system(), Duration.ofMillis(300));
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static long receivedBy(String tenant) {
    synchronized (received) {
      return received.stream().filter(r -> r.startsWith(tenant + ":")).count();
    }
  }

  @Test
  void aSlotWhoseReleaseTimedOutIsReleasedByALaterTry() throws Exception {
    assertEquals(Done.getInstance(), tenants.ended("lossy-2", "run-1").toCompletableFuture().get(20, TimeUnit.SECONDS));
    assertEquals(3, receivedBy("lossy-2"), "two lost tries, then the one that was answered");
  }

  @Test
  void aRefusalIsNotTriedAgain() {
    var failure = assertThrows(ExecutionException.class,
        () -> tenants.ended("refusing", "run-1").toCompletableFuture().get(20, TimeUnit.SECONDS));
    assertInstanceOf(StatusReply.ErrorMessage.class, failure.getCause());
    assertEquals(1, receivedBy("refusing"));
  }
}
