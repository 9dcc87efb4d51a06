package dev.orrery.cluster;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a node that was frozen (SIGSTOP, a hung VM, a pause far beyond the failure detector) from writing
 * for runs the rest of the cluster has taken over meanwhile. A ticker thread notes the time every 100 ms;
 * a journal write finds out from the age of the last tick that the process has just been frozen, before
 * the cluster has had a chance to tell it that it was downed, and is refused. When the ticker itself wakes
 * after a pause long enough for the others to have downed this node (failure detection plus part of the
 * split-brain resolver's stable-after), the fence stays closed for good and the node downs itself.
 *
 * <p>One per JVM: a freeze stops every actor system of the process alike.
 */
public final class PauseFence {
  private static final Logger log = LoggerFactory.getLogger(PauseFence.class);
  private static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final PauseFence JVM = new PauseFence(System::nanoTime);

  /** What a node does when the fence closes for good: down itself. */
  public interface Breach {
    void pausedFor(Duration pause);
  }

  private final LongSupplier clock;
  private final List<Breach> breaches = new CopyOnWriteArrayList<>();
  private volatile long lastTick;
  private volatile long closeAfterNanos = Long.MAX_VALUE;
  private volatile boolean closed;
  private Thread ticker;

  PauseFence(LongSupplier clock) {
    this.clock = clock;
    this.lastTick = clock.getAsLong();
  }

  public static PauseFence jvm() {
    return JVM;
  }

  /**
   * The pause after which the others may have downed this node and taken its runs: the failure detector's
   * acceptable pause and half of the resolver's stable-after (they need all of it).
   */
  public static Duration closeAfter(Config config) {
    return config.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause")
        .plus(config.getDuration("pekko.cluster.split-brain-resolver.stable-after").dividedBy(2));
  }

  /**
   * SQL that every database session of the node runs first: PostgreSQL ends a session left idle inside a
   * transaction for as long as {@link #closeAfter}. A process frozen between a journal insert and its
   * commit would otherwise keep its row locks, and the majority's writes for the same runs (the same
   * {@code (persistence_id, sequence_number)} keys) would wait on them until the process woke.
   */
  public static String sessionSetup(Config config) {
    return "SET idle_in_transaction_session_timeout = " + closeAfter(config).toMillis();
  }

  /**
   * Arms the fence (the tightest threshold of the nodes in this JVM wins) and starts the ticker once.
   *
   * @param closeAfter a pause this long refuses writes at once (before the ticker has run), closes the
   *     fence for good and calls {@code breach}: the others may have downed this node and taken its runs
   */
  public synchronized void arm(Duration closeAfter, Breach breach) {
    closeAfterNanos = Math.min(closeAfterNanos, closeAfter.toNanos());
    breaches.add(breach);
    if (ticker == null && this == JVM) {
      lastTick = clock.getAsLong();
      ticker = new Thread(this::tickForever, "orrery-pause-fence");
      ticker.setDaemon(true);
      ticker.start();
    }
  }

  /** A node that stopped no longer wants to hear of breaches. */
  public void disarm(Breach breach) {
    breaches.remove(breach);
  }

  /** Whether a journal write may go ahead now. */
  public boolean allowsWrites() {
    return !closed && clock.getAsLong() - lastTick < closeAfterNanos;
  }

  public boolean closed() {
    return closed;
  }

  /** One tick: how long since the last one decides whether the fence closes. */
  void tick() {
    long now = clock.getAsLong();
    long pause = now - lastTick;
    lastTick = now;
    if (!closed && pause >= closeAfterNanos) {
      closed = true;
      Duration paused = Duration.ofNanos(pause);
      log.error("This process was paused for {} ms, long enough for the cluster to have downed this node and moved "
          + "its runs: journal writes are refused from now on and the node downs itself", paused.toMillis());
      for (Breach b : breaches) b.pausedFor(paused);
    }
  }

  private void tickForever() {
    while (true) {
      try {
        TimeUnit.NANOSECONDS.sleep(TICK_NANOS);
      } catch (InterruptedException e) {
        return;
      }
      tick();
    }
  }
}
