package dev.orrery.router.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;

/** Two real cluster nodes in one JVM (on free ports): each node's provider actor takes half the limit. */
class ClusterShareTest {
  private static final Config CLUSTER = ConfigFactory.parseString(String.join("\n",
      "pekko.actor.provider = cluster",
      "pekko.remote.artery.canonical.hostname = 127.0.0.1",
      "pekko.remote.artery.canonical.port = 0",
      "pekko.cluster.jmx.multi-mbeans-in-same-jvm = on",
      "pekko.cluster.min-nr-of-members = 1",
      "pekko.coordinated-shutdown.exit-jvm = off"));

  private static ActorRef<ProviderActor.Command> provider(ActorTestKit kit) {
    return kit.spawn(ProviderActor.create(new ProviderActor.Setup("shared", Limits.of("requests-per-minute = 600"),
        ScriptedAdapter.answering("shared"), new ProviderStats(), Clock.systemUTC(), t -> 1, true)));
  }

  private static ProviderActor.Status status(ActorTestKit kit, ActorRef<ProviderActor.Command> actor) {
    try {
      return AskPattern.<ProviderActor.Command, ProviderActor.Status>ask(actor, ProviderActor.GetStatus::new,
          Duration.ofSeconds(5), kit.scheduler()).toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void eachNodeTakesItsShareAndTheShareGrowsBackWhenANodeLeaves() {
    ActorTestKit first = ActorTestKit.create("orrery", CLUSTER);
    ActorTestKit second = ActorTestKit.create("orrery", CLUSTER);
    try {
      Cluster.get(first.system()).manager().tell(Join.create(Cluster.get(first.system()).selfMember().address()));
      Cluster.get(second.system()).manager().tell(Join.create(Cluster.get(first.system()).selfMember().address()));
      ActorRef<ProviderActor.Command> onFirst = provider(first);
      ActorRef<ProviderActor.Command> onSecond = provider(second);
      first.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
        assertEquals(2, status(first, onFirst).members());
        assertEquals(300, status(first, onFirst).requestsPerMinute(), 1e-9);
        assertEquals(300, status(second, onSecond).requestsPerMinute(), 1e-9);
        return null;
      });
      second.shutdownTestKit(); // leaves the cluster gracefully (coordinated shutdown)
      first.createTestProbe().awaitAssert(Duration.ofSeconds(20), () -> {
        assertEquals(1, status(first, onFirst).members());
        assertEquals(600, status(first, onFirst).requestsPerMinute(), 1e-9);
        return null;
      });
    } finally {
      first.shutdownTestKit();
    }
  }
}
