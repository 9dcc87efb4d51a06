package dev.orrery.cluster;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether this node should get traffic: what Pekko Management's {@code /ready} (and the edge's
 * {@code /ready}) answer beside management's own checks (the member is Up, sharding's regions are
 * registered). Ready means the node has started (its HTTP port is bound), is not shutting down, and each
 * part it registered answers: the database of the journal. Liveness
 * ({@code /alive}) stays independent of all that, so a database outage never restarts healthy pods.
 */
public final class NodeHealth implements Extension {
  private static final Logger log = LoggerFactory.getLogger(NodeHealth.class);

  /** One part of readiness: a named check that completes with true when the part answers. */
  public record Part(String name, Supplier<CompletionStage<Boolean>> check) {}

  private final AtomicBoolean draining = new AtomicBoolean();
  private volatile List<Part> parts = List.of();
  private volatile boolean started;

  private NodeHealth() {}

  public static NodeHealth get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** The node is assembled: from now on readiness asks its parts. */
  void started(List<Part> parts) {
    this.parts = List.copyOf(parts);
    this.started = true;
  }

  /** Coordinated shutdown began: not ready any more, whatever the parts say. */
  void drain() {
    if (draining.compareAndSet(false, true)) log.info("Shutting down: readiness is off");
  }

  public boolean draining() {
    return draining.get();
  }

  /** True when the node has started, is not draining and every part answered true in time. */
  public CompletionStage<Boolean> ready(Duration timeout) {
    if (!started || draining.get()) return CompletableFuture.completedFuture(false);
    CompletableFuture<Boolean> all = CompletableFuture.completedFuture(true);
    for (Part part : parts) {
      CompletableFuture<Boolean> one = part.check().get().toCompletableFuture()
          .completeOnTimeout(false, timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .exceptionally(e -> false)
          .thenApply(ok -> {
            if (!ok) log.debug("Not ready: {} does not answer", part.name());
            return ok;
          });
      all = all.thenCombine(one, Boolean::logicalAnd);
    }
    return all;
  }

  /** Pekko Management's readiness check ({@code pekko.management.health-checks.readiness-checks}). */
  public static final class ReadinessCheck implements Supplier<CompletionStage<Boolean>> {
    private final NodeHealth health;
    private final Duration timeout;

    public ReadinessCheck(org.apache.pekko.actor.ActorSystem classic) {
      ActorSystem<?> typed = Adapter.toTyped(classic);
      this.health = NodeHealth.get(typed);
      // Inside management's own check-timeout, so a slow part reads as "not ready", not as an error.
      this.timeout = typed.settings().config().getDuration("pekko.management.health-checks.check-timeout")
          .multipliedBy(2).dividedBy(3);
    }

    @Override
    public CompletionStage<Boolean> get() {
      return health.ready(timeout);
    }
  }

  static final class Id extends ExtensionId<NodeHealth> {
    static final Id INSTANCE = new Id();

    @Override
    public NodeHealth createExtension(ActorSystem<?> system) {
      return new NodeHealth();
    }
  }
}
