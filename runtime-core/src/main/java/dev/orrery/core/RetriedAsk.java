package dev.orrery.core;

import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.Patterns;

/**
 * An ask of an idempotent command, made again when an attempt times out. Cluster sharding delivers at most
 * once: a message that reaches a shard while it is handed off (a rolling upgrade, a rebalance) can be
 * dropped, and its ask then only times out. A command the entity answers the same way however often it
 * comes (admitting a run, starting it under its id, freeing its slot) can simply be sent again.
 */
public final class RetriedAsk {
  private RetriedAsk() {}

  /**
   * @param ask one attempt, given its own timeout
   * @param total the attempts together take at most about this long (each gets {@code total / attempts})
   */
  public static <T> CompletionStage<T> ask(Function<Duration, CompletionStage<T>> ask, Duration total, int attempts,
      ActorSystem<?> system) {
    Duration each = total.dividedBy(attempts);
    return Patterns.retry(() -> ask.apply(each), (result, failure) -> isTimeout(failure), attempts,
        Duration.ofMillis(100), Duration.ofSeconds(1), 0.2, system);
  }

  private static boolean isTimeout(Throwable failure) {
    Throwable t = failure;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t instanceof TimeoutException;
  }
}
