package dev.orrery.ledger.budget;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.ledger.tenant.TenantEntity;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOp;
import dev.orrery.ledger.tenant.TenantEntity.LedgerOutcomes;
import dev.orrery.ledger.tenant.TenantNews;
import dev.orrery.ledger.testing.OneNodeCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The batcher against real sharding on a one-node cluster, with a tenant entity that loses batches the way
 * a dying node does (it never answers them): the batch goes again, the same operations, until the ask
 * timeout.
 */
class LedgerBatcherTest {
  private static final Duration ATTEMPT = Duration.ofMillis(300);

  private static ActorTestKit kit;
  /** Every batch the entity received, by tenant id; the tenants named "lossy-N" drop their first N. */
  private static final List<String> received = Collections.synchronizedList(new ArrayList<>());
  private static ActorRef<LedgerBatcher.Message> batcher;
  private static ActorRef<Topic.Command<TenantNews>> news;
  private static final LedgerBatcher.Leases leases = new LedgerBatcher.Leases();

  @BeforeAll
  static void start() {
    kit = OneNodeCluster.start();
    ClusterSharding.get(kit.system()).init(Entity.of(TenantEntity.KEY, ctx -> {
      String tenant = ctx.getEntityId();
      int drops = tenant.startsWith("lossy-") ? Integer.parseInt(tenant.substring(6)) : 0;
      int[] seen = {0};
      return Behaviors.receive(TenantEntity.Command.class)
          .onMessage(TenantEntity.Ledger.class, ledger -> {
            received.add(tenant + ":" + ledger.ops());
            if (seen[0]++ >= drops) {
              // "unlimited-" tenants have no budget and no kill switch, as of limits version 0.
              long unlimitedAsOf = tenant.startsWith("unlimited-") ? 0 : -1;
              ledger.replyTo().tell(new LedgerOutcomes(Collections.nCopies(ledger.ops().size(), null), unlimitedAsOf));
            }
            return Behaviors.same();
          })
          .build();
    }));
    news = kit.spawn(Topic.create(TenantNews.class, TenantNews.TOPIC));
    batcher = kit.spawn(LedgerBatcher.create(100, Duration.ofSeconds(2), ATTEMPT, Duration.ofSeconds(1), news, leases));
  }

  @AfterAll
  static void stop() {
    kit.shutdownTestKit();
  }

  private static CompletableFuture<String> reserve(String tenant, String id) {
    var result = new CompletableFuture<String>();
    batcher.tell(new LedgerBatcher.Submit(tenant, new LedgerOp.Reserve(id, "run-1", "node-a", 100, 1_000), result));
    return result;
  }

  private static List<String> receivedBy(String tenant) {
    synchronized (received) {
      return received.stream().filter(r -> r.startsWith(tenant + ":")).toList();
    }
  }

  @Test
  void aBatchTheTenantNeverAnsweredGoesAgainAndItsCallerGetsTheSecondAnswer() throws Exception {
    var first = reserve("lossy-1", "c1");
    assertNull(first.get(10, TimeUnit.SECONDS), "granted");
    List<String> batches = receivedBy("lossy-1");
    assertEquals(2, batches.size(), batches::toString);
    assertEquals(batches.get(0), batches.get(1), "the second attempt carries the same operations");
  }

  @Test
  void aTenantThatNeverAnswersFailsItsCallersAtTheAskTimeoutAfterSeveralAttempts() {
    var lost = reserve("lossy-1000", "c1");
    var failure = assertThrows(ExecutionException.class, () -> lost.get(10, TimeUnit.SECONDS));
    assertInstanceOf(TimeoutException.class, failure.getCause());
    // 2 s of asking in attempts of 300 ms: several attempts, each the same batch, then the callers are told.
    List<String> batches = receivedBy("lossy-1000");
    assertTrue(batches.size() >= 3 && batches.size() <= 8, batches.size() + " attempts");
    assertEquals(1, batches.stream().distinct().count(), "every attempt carries the same operations");
  }

  @Test
  void aTenantThatAnswersIsAskedOnce() throws Exception {
    assertNull(reserve("steady", "c1").get(10, TimeUnit.SECONDS));
    assertNull(reserve("steady", "c2").get(10, TimeUnit.SECONDS));
    assertEquals(2, receivedBy("steady").size(), () -> receivedBy("steady").toString());
  }

  @Test
  void aTenantWithoutLimitsIsLeasedToTheNodeUntilItAnnouncesNewLimits() throws Exception {
    String tenant = "unlimited-a";
    assertFalse(leases.grants(tenant), "no lease before the entity said so");
    assertNull(reserve(tenant, "c1").get(10, TimeUnit.SECONDS));
    assertTrue(leases.grants(tenant), "the entity's answer leased the tenant to this node");
    assertNull(reserve(tenant, "c2").get(10, TimeUnit.SECONDS));
    assertEquals(1, receivedBy(tenant).size(), "a leased reservation does not go to the entity");

    news.tell(Topic.publish(new TenantNews.LimitsChanged(tenant, 1)));
    kit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertFalse(leases.grants(tenant), "new limits revoke the lease");
      return null;
    });
    assertNull(reserve(tenant, "c3").get(10, TimeUnit.SECONDS));
    assertEquals(2, receivedBy(tenant).size(), "after the revocation the entity decides again");
    assertFalse(leases.grants(tenant), "an answer from limits version 0 is older than the announced 1");
  }

  @Test
  void aLimitedTenantIsNeverLeased() throws Exception {
    assertNull(reserve("steady-b", "c1").get(10, TimeUnit.SECONDS));
    assertFalse(leases.grants("steady-b"));
  }
}
