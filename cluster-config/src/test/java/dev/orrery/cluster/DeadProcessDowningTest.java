package dev.orrery.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.orrery.cluster.DeadProcessDowning.Seen;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A member whose process is gone is downed and removed in about the failure detector's time, while the
 * split-brain resolver alone would wait a minute here; a member that still listens is left alone.
 */
class DeadProcessDowningTest {
  private static final Duration STABLE_AFTER = Duration.ofSeconds(60);
  private final List<ActorSystem<Void>> systems = new ArrayList<>();

  @AfterEach
  void stop() {
    systems.forEach(ActorSystem::terminate);
  }

  @Test
  void aConnectToAClosedPortIsRefusedAndToAnOpenOneListening() throws Exception {
    Address open;
    try (ServerSocket server = new ServerSocket(0)) {
      open = new Address("pekko", "orrery", "127.0.0.1", server.getLocalPort());
      assertEquals(DeadProcessDowning.Probe.LISTENING, DeadProcessDowning.probe(open, Duration.ofSeconds(1)));
    }
    // The same port, now closed: the host answers with a reset.
    assertEquals(DeadProcessDowning.Probe.REFUSED, DeadProcessDowning.probe(open, Duration.ofSeconds(1)));
    assertEquals(DeadProcessDowning.Probe.UNKNOWN,
        DeadProcessDowning.probe(new Address("pekko", "orrery"), Duration.ofSeconds(1)), "no host, no verdict");
  }

  @Test
  void aKilledMemberIsDownedLongBeforeStableAfter() {
    ActorSystem<Void> first = node();
    Cluster.get(first).manager().tell(Join.create(Cluster.get(first).selfMember().address()));
    ActorSystem<Void> second = node();
    ActorSystem<Void> victim = node();
    for (ActorSystem<Void> s : List.of(second, victim)) {
      Cluster.get(s).manager().tell(Join.create(Cluster.get(first).selfMember().address()));
    }
    TestProbe<Void> probe = TestProbe.create(first);
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      assertEquals(3, upMembers(first));
      assertEquals(3, upMembers(second));
      return null;
    });
    Address victimAddress = Cluster.get(victim).selfMember().address();

    long killed = System.nanoTime();
    // A crash, not a leave: the victim's cluster daemon and its port go without telling anyone.
    victim.terminate();
    probe.awaitAssert(Duration.ofSeconds(30), () -> {
      for (ActorSystem<Void> s : List.of(first, second)) {
        assertEquals(List.of(), StreamSupport.stream(Cluster.get(s).state().getMembers().spliterator(), false)
            .filter(m -> m.address().equals(victimAddress)).toList(), "the victim is removed");
      }
      return null;
    });
    Duration took = Duration.ofNanos(System.nanoTime() - killed);
    System.out.printf("Dead-process downing: a killed member was removed %d ms after it stopped%n", took.toMillis());
    assertEquals(2, upMembers(first), "the survivors go on as a cluster of two");
  }

  @Test
  void onlyTheMajoritySideMayDownAndOnlyAnUnreachableMember() {
    Address a = new Address("pekko", "orrery", "127.0.0.1", 1);
    Address b = new Address("pekko", "orrery", "127.0.0.1", 2);
    Address c = new Address("pekko", "orrery", "127.0.0.1", 3);
    MemberStatus up = MemberStatus.up();
    // All reachable: a refused connect alone downs nobody (Pekko would not remove the member before it is
    // unreachable anyway).
    var allReached = List.of(new Seen(a, up, false), new Seen(b, up, false), new Seen(c, up, false));
    assertFalse(DeadProcessDowning.mayDown(allReached, c));
    // One of three unreachable: the two others are the majority and may down it, not a reachable one.
    var oneLost = List.of(new Seen(a, up, false), new Seen(b, up, false), new Seen(c, up, true));
    assertTrue(DeadProcessDowning.mayDown(oneLost, c));
    assertFalse(DeadProcessDowning.mayDown(oneLost, b));
    // Two of three unreachable: this node is the minority and leaves it to the resolver.
    var twoLost = List.of(new Seen(a, up, false), new Seen(b, up, true), new Seen(c, up, true));
    assertFalse(DeadProcessDowning.mayDown(twoLost, c));
    // One of two: no strict majority either (keep-majority's tie goes by address, the resolver's call).
    assertFalse(DeadProcessDowning.mayDown(List.of(new Seen(a, up, false), new Seen(b, up, true)), b));
    // Already down, or leaving in order: nothing to do; a joining member does not vote.
    assertFalse(DeadProcessDowning.mayDown(
        List.of(new Seen(a, up, false), new Seen(b, up, false), new Seen(c, MemberStatus.down(), true)), c));
    assertFalse(DeadProcessDowning.mayDown(
        List.of(new Seen(a, up, false), new Seen(b, up, false), new Seen(c, MemberStatus.exiting(), true)), c));
    assertTrue(DeadProcessDowning.mayDown(List.of(new Seen(a, up, false), new Seen(b, MemberStatus.joining(), true),
        new Seen(c, up, false)), b));
  }

  private static long upMembers(ActorSystem<Void> system) {
    return StreamSupport.stream(Cluster.get(system).state().getMembers().spliterator(), false)
        .filter(m -> m.status().equals(MemberStatus.up()))
        .filter(m -> !Cluster.get(system).state().getUnreachable().contains(m))
        .count();
  }

  private ActorSystem<Void> node() {
    Config config = ConfigFactory.parseString("""
        pekko.actor.provider = cluster
        pekko.remote.artery.canonical { hostname = "127.0.0.1", port = 0 }
        pekko.cluster.downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
        pekko.cluster.split-brain-resolver.stable-after = %ds
        pekko.cluster.failure-detector { heartbeat-interval = 250ms, acceptable-heartbeat-pause = 1s }
        pekko.cluster.down-removal-margin = 200ms
        pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
        pekko.coordinated-shutdown.run-by-actor-system-terminate = off
        pekko.loglevel = WARNING
        orrery.cluster.down-dead-processes { enabled = on, probe-timeout = 500ms, probe-interval = 500ms }
        """.formatted(STABLE_AFTER.toSeconds())).withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "orrery", config);
    systems.add(system);
    DeadProcessDowning.start(system, DeadProcessDowning.Settings.fromConfig(system.settings().config()));
    return system;
  }
}
