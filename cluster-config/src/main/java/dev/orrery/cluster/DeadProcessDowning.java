package dev.orrery.cluster;

import com.typesafe.config.Config;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.UniqueAddress;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Downs an unreachable member at once when its process is certainly gone, instead of waiting for the
 * split-brain resolver's {@code stable-after}: the member's host answers a TCP connect to its remoting
 * port with a reset ("connection refused"), so the host is reachable and nothing listens there any more
 * (Artery keeps its port bound until the member has left the cluster). A partition or a frozen process
 * looks different — a connect that times out, or one the kernel still accepts for a stopped process — and
 * is left to the resolver. The connect is closed at once; Artery drops a connection that never sent its
 * header without a word.
 *
 * <p>It waits for the failure detector: a reachable member that is downed is only removed once it has
 * seen the gossip or is unreachable (Pekko's convergence rule), so downing earlier gains nothing.
 *
 * <p>It only takes the decision the resolver would take: this node must be on the side that keeps the
 * majority of the Up and Leaving members (keep-majority's rule), so a minority that is refused by a
 * rejecting firewall cannot down the majority. The removal margin (sharding's wait before it starts a
 * downed member's shards elsewhere) still applies afterwards; see docs/operations.md.
 */
public final class DeadProcessDowning {
  private static final Logger log = LoggerFactory.getLogger(DeadProcessDowning.class);

  /** {@code orrery.cluster.down-dead-processes}. */
  public record Settings(boolean enabled, Duration probeTimeout, Duration probeInterval) {
    public Settings {
      if (probeTimeout.isNegative() || probeTimeout.isZero()) {
        throw new IllegalArgumentException("down-dead-processes.probe-timeout must be > 0, was " + probeTimeout);
      }
      if (probeInterval.isNegative() || probeInterval.isZero()) {
        throw new IllegalArgumentException("down-dead-processes.probe-interval must be > 0, was " + probeInterval);
      }
    }

    public static Settings fromConfig(Config config) {
      Config c = config.getConfig("orrery.cluster.down-dead-processes");
      return new Settings(c.getBoolean("enabled"), c.getDuration("probe-timeout"), c.getDuration("probe-interval"));
    }
  }

  /** What a connect to a member's remoting port says about its process. */
  enum Probe {
    /** Something accepted the connection: the process (or a new one on its port) is there. */
    LISTENING,
    /** The host reset the connection: nothing listens on the port, the process is gone. */
    REFUSED,
    /** No answer in time, no route, no name: a partition looks like this, so it proves nothing. */
    UNKNOWN
  }

  sealed interface Command {}

  private record Membership(ClusterEvent.MemberEvent event) implements Command {}

  private record Reachability(ClusterEvent.ReachabilityEvent event) implements Command {}

  private enum Sweep implements Command { INSTANCE }

  private record Probed(Address address, Probe result) implements Command {}

  private DeadProcessDowning() {}

  /** Starts the prober when enabled and the remoting transport is TCP (a refused connect means nothing on UDP). */
  public static void start(ActorSystem<?> system, Settings settings) {
    if (!settings.enabled()) return;
    String transport = system.settings().config().getString("pekko.remote.artery.transport");
    if (!transport.equals("tcp") && !transport.equals("tls-tcp")) {
      log.info("Dead-process downing is off: remoting transport {} is not TCP", transport);
      return;
    }
    system.systemActorOf(behavior(settings), "orrery-dead-process-downing", Props.empty());
  }

  /**
   * Probes each unreachable member when it becomes unreachable and every probe interval while it stays
   * so. The prober keeps its own view of the membership from the cluster's events: {@code Cluster.state()}
   * is updated by another subscriber and could still show the member reachable when its event arrives.
   */
  static Behavior<Command> behavior(Settings settings) {
    return Behaviors.setup(ctx -> {
      Cluster cluster = Cluster.get(ctx.getSystem());
      Address self = cluster.selfMember().address();
      cluster.subscriptions().tell(Subscribe.create(
          ctx.messageAdapter(ClusterEvent.MemberEvent.class, Membership::new), ClusterEvent.MemberEvent.class));
      cluster.subscriptions().tell(Subscribe.create(
          ctx.messageAdapter(ClusterEvent.ReachabilityEvent.class, Reachability::new),
          ClusterEvent.ReachabilityEvent.class));
      Executor blocking = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
      Map<UniqueAddress, Seen> view = new HashMap<>();
      Set<Address> probing = new HashSet<>();
      return Behaviors.withTimers(timers -> {
        timers.startTimerWithFixedDelay(Sweep.INSTANCE, settings.probeInterval());
        return Behaviors.receive(Command.class)
            .onMessage(Membership.class, m -> {
              Member member = m.event().member();
              Seen before = view.get(member.uniqueAddress());
              if (m.event() instanceof ClusterEvent.MemberRemoved) view.remove(member.uniqueAddress());
              else view.put(member.uniqueAddress(), new Seen(member.address(), member.status(),
                  before != null && before.unreachable()));
              return Behaviors.same();
            })
            .onMessage(Reachability.class, r -> {
              Member member = r.event().member();
              boolean unreachable = r.event() instanceof ClusterEvent.UnreachableMember;
              view.put(member.uniqueAddress(), new Seen(member.address(), member.status(), unreachable));
              if (unreachable) ctx.getSelf().tell(Sweep.INSTANCE);
              return Behaviors.same();
            })
            .onMessage(Sweep.class, sweep -> {
              for (Seen member : view.values()) {
                Address address = member.address();
                if (address.equals(self) || !member.unreachable() || !member.downable() || !probing.add(address)) {
                  continue;
                }
                ctx.pipeToSelf(CompletableFuture.supplyAsync(() -> probe(address, settings.probeTimeout()), blocking),
                    (result, failure) -> new Probed(address, failure == null ? result : Probe.UNKNOWN));
              }
              return Behaviors.same();
            })
            .onMessage(Probed.class, p -> {
              probing.remove(p.address());
              if (p.result() == Probe.REFUSED && mayDown(List.copyOf(view.values()), p.address())) {
                log.warn("Downing {}: unreachable and its remoting port refuses connections, so its process is gone"
                    + " (this node is on the majority side)", p.address());
                cluster.manager().tell(new Down(p.address()));
                // Not probed again: its status turns Down with the next gossip.
                view.replaceAll((id, seen) -> seen.address().equals(p.address())
                    ? new Seen(seen.address(), MemberStatus.down(), seen.unreachable()) : seen);
              }
              return Behaviors.same();
            })
            .build();
      });
    });
  }

  /** What the majority rule needs of a member. */
  record Seen(Address address, MemberStatus status, boolean unreachable) {
    boolean voter() {
      return status.equals(MemberStatus.up()) || status.equals(MemberStatus.leaving());
    }

    /** Whether downing it is still this prober's business (not once it is down, or leaving in order). */
    boolean downable() {
      return !status.equals(MemberStatus.down()) && !status.equals(MemberStatus.exiting())
          && !status.equals(MemberStatus.removed());
    }
  }

  /**
   * Whether this node may down {@code address}, whose port refused a connect: the member is unreachable
   * and not already down or exiting, and the members this node still reaches are a strict majority of the
   * Up and Leaving ones (so a minority refused by a rejecting firewall downs nobody).
   */
  static boolean mayDown(List<Seen> members, Address address) {
    long voters = members.stream().filter(Seen::voter).count();
    long reached = members.stream().filter(m -> m.voter() && !m.unreachable()).count();
    return reached * 2 > voters && members.stream()
        .anyMatch(m -> m.address().equals(address) && m.unreachable() && m.downable());
  }

  /** One TCP connect to the member's remoting port, closed at once (Artery drops a connection that sends nothing). */
  static Probe probe(Address address, Duration timeout) {
    if (address.getHost().isEmpty() || address.getPort().isEmpty()) return Probe.UNKNOWN;
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(address.getHost().get(), address.getPort().get()), (int) timeout.toMillis());
      return Probe.LISTENING;
    } catch (ConnectException e) {
      // ConnectException also reports an OS-level timeout; only a reset proves the port is closed.
      return e.getMessage() != null && e.getMessage().contains("refused") ? Probe.REFUSED : Probe.UNKNOWN;
    } catch (IOException | RuntimeException e) {
      return Probe.UNKNOWN;
    }
  }
}
