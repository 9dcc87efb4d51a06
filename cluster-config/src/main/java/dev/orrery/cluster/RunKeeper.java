package dev.orrery.cluster;

import com.typesafe.config.Config;
import dev.orrery.core.readside.RunIndex;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunView;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes every unfinished run a little after the node starts, so a run in flight resumes by itself even
 * where remember-entities did not bring it back: a shard whose "remembered" write had not reached the
 * journal when the whole cluster stopped (the coordinator retries such writes under load) comes back only
 * when something asks one of its entities. The runs list (the read side) knows every run that was accepted
 * and not finished; asking each for its view starts its entity, which recovers and re-dispatches its open
 * steps. Harmless for runs already awake, and repeated by every node that starts.
 */
final class RunKeeper {
  private static final Logger log = LoggerFactory.getLogger(RunKeeper.class);

  /**
   * {@code orrery.run-keeper}: how long after the start, how many runs asked at once, at most how many.
   */
  record Settings(boolean enabled, Duration delay, int parallelism, int limit, Duration askTimeout) {
    Settings {
      if (delay.isNegative()) throw new IllegalArgumentException("orrery.run-keeper.delay must be >= 0, was " + delay);
      if (parallelism <= 0) {
        throw new IllegalArgumentException("orrery.run-keeper.parallelism must be > 0, was " + parallelism);
      }
      if (limit <= 0) throw new IllegalArgumentException("orrery.run-keeper.limit must be > 0, was " + limit);
    }

    static Settings fromConfig(Config config, Duration askTimeout) {
      Config c = config.getConfig("orrery.run-keeper");
      return new Settings(c.getBoolean("enabled"), c.getDuration("delay"), c.getInt("parallelism"), c.getInt("limit"),
          askTimeout);
    }
  }

  private RunKeeper() {}

  static void start(ActorSystem<?> system, RunIndex index, Settings settings) {
    if (!settings.enabled()) return;
    system.scheduler().scheduleOnce(settings.delay(), () -> wake(system, index, settings), system.executionContext());
  }

  private static void wake(ActorSystem<?> system, RunIndex index, Settings settings) {
    ClusterSharding sharding = ClusterSharding.get(system);
    index.unfinished(settings.limit())
        .thenComposeAsync(ids -> Source.from(ids)
            .mapAsyncUnordered(settings.parallelism(), id -> ask(sharding, id, settings.askTimeout()))
            .runWith(Sink.fold(0, (n, awake) -> awake ? n + 1 : n), system)
            .thenAccept(awake -> {
              if (!ids.isEmpty()) log.info("Woke {} of {} unfinished runs", awake, ids.size());
            }), system.executionContext())
        .exceptionally(failure -> {
          log.warn("Could not wake the unfinished runs: {}", failure.toString());
          return null;
        });
  }

  private static CompletionStage<Boolean> ask(ClusterSharding sharding, String entityId, Duration timeout) {
    return sharding.entityRefFor(RunEntity.KEY, entityId)
        .<RunView>askWithStatus(RunEntity.Get::new, timeout)
        .handle((view, failure) -> failure == null);
  }
}
