package dev.orrery.core.stream;

import java.time.Duration;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.FlowShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;

/**
 * Passes a run's stream on up to its terminal event, which goes out at once, and ends the stream
 * {@code delay} later, dropping whatever arrives in between.
 *
 * <p>Why not end at once: the terminal event reaches every subscriber of the run on a node in the same
 * instant, and ending a stream (its topic subscription, the watches on it, the connection) is work on
 * the same threads that are still writing that event to the other subscribers. With 1,000 subscribers,
 * ending each stream right after its terminal event delayed the later subscribers' terminal event by
 * about 100 ms (docs/benchmarks.md, "Live stream fan-out"); a client already has everything once the
 * terminal event has arrived, so the end can wait.
 */
final class EndAfterTerminal extends GraphStage<FlowShape<RunUpdate, RunUpdate>> {
  private final Inlet<RunUpdate> in = Inlet.create("EndAfterTerminal.in");
  private final Outlet<RunUpdate> out = Outlet.create("EndAfterTerminal.out");
  private final FlowShape<RunUpdate, RunUpdate> shape = FlowShape.of(in, out);
  private final Duration delay;

  EndAfterTerminal(Duration delay) {
    this.delay = delay;
  }

  @Override
  public FlowShape<RunUpdate, RunUpdate> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new TimerGraphStageLogic(shape) {
      private boolean ended;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            RunUpdate u = grab(in);
            if (ended) {
              pull(in); // after the end: read and drop, so nothing waits upstream
              return;
            }
            if (u.isTerminal()) {
              ended = true;
              if (delay.isZero()) {
                push(out, u);
                completeStage();
                return;
              }
              scheduleOnce("end", delay);
              pull(in);
            }
            push(out, u);
          }

          @Override
          public void onUpstreamFinish() {
            if (!ended) completeStage(); // else the timer ends it
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            if (!ended && !hasBeenPulled(in)) pull(in);
          }
        });
      }

      @Override
      public void onTimer(Object key) {
        completeStage();
      }
    };
  }
}
