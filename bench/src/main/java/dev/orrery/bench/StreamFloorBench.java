package dev.orrery.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.bench.StreamLatencyBench.Clients;
import dev.orrery.bench.StreamLatencyBench.Latencies;
import dev.orrery.bench.StreamLatencyBench.Received;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * The stream benchmark's floor: the least a server on the node's HTTP stack does to send one message to N
 * WebSocket subscribers. pekko-http's server, one WebSocket per subscriber on the node's path, and a
 * prebuilt text message sent to every connection, with the same subscribers as {@link StreamLatencyBench}
 * (a JVM of their own, the same clients). No key, no run, no journal, no topic, no de-duplication, no
 * JSON per message. What this reaches on a machine bounds what the node's live stream can reach there
 * (docs/benchmarks.md). Not part of the product.
 *
 * <p>The messages follow a run of {@code steps} LLM steps at {@code latency-ms}: per step one token
 * delta and the two events of a step ending and the next starting, each the size of the node's, then the
 * run's last event; each connection ends {@code close-delay} (500 ms, the node's default) after it.
 * Latency is from the moment a message is handed to the fan-out to its arrival at a subscriber.
 *
 * <p>Arguments (all optional): {@code subscribers=1000 steps=10 latency-ms=200 rounds=6 warmup=2}, and
 * {@code fanout=actors} (each connection's stream fed by an actor, to which the message is told, as the
 * node's topic tells its subscribers) or {@code fanout=hub} (one {@link BroadcastHub} per run, which every
 * connection reads: pekko-streams' own fan-out); {@code clients=} as for {@link StreamLatencyBench}.
 */
public final class StreamFloorBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Message END = TextMessage.create("end");

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchArgs.parse(args);
    int subscribers = Integer.parseInt(opts.getOrDefault("subscribers", "1000"));
    int steps = Integer.parseInt(opts.getOrDefault("steps", "10"));
    int latencyMs = Integer.parseInt(opts.getOrDefault("latency-ms", "200"));
    int rounds = Integer.parseInt(opts.getOrDefault("rounds", "6"));
    int warmup = Math.min(rounds - 1, Integer.parseInt(opts.getOrDefault("warmup", "2")));
    boolean hub = "hub".equals(opts.getOrDefault("fanout", "actors"));

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "stream-floor", FakeUpstreamMain.loopbackServer(""));
    Map<String, Run> runs = new ConcurrentHashMap<>();
    int port = Http.get(system).newServerAt("127.0.0.1", 0)
        .bind((Function<HttpRequest, CompletionStage<HttpResponse>>) request -> {
          // /api/v1/runs/{id}/stream, as the node's
          String[] path = request.getUri().path().split("/");
          Run run = path.length == 6 ? runs.get(path[4]) : null;
          var upgrade = request.getAttribute(AttributeKeys.webSocketUpgrade);
          if (run == null || upgrade.isEmpty()) {
            return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.NOT_FOUND));
          }
          return CompletableFuture.completedFuture(
              upgrade.get().handleMessagesWith(Flow.fromSinkAndSourceCoupled(Sink.ignore(), run.connection())));
        })
        .toCompletableFuture().get(30, TimeUnit.SECONDS).localAddress().getPort();
    String baseUrl = "http://127.0.0.1:" + port;
    Clients clients = Clients.of(opts.getOrDefault("clients", "process"));
    System.out.printf("Stream floor (bare pekko-http WebSockets, %s fan-out): %d cores%n", hub ? "BroadcastHub" : "actor",
        Runtime.getRuntime().availableProcessors());
    System.out.printf("subscribers=%d steps/run=%d at %d ms, %d round(s), clients in %s%n",
        subscribers, steps, latencyMs, rounds, clients.where());
    Latencies events = new Latencies();
    Latencies deltas = new Latencies();
    try {
      for (int round = 1; round <= rounds; round++) {
        String runId = UUID.randomUUID().toString();
        Run run = hub ? new HubRun(system, runId) : new ActorRun(runId);
        runs.put(runId, run);
        long t0 = System.nanoTime();
        clients.open(baseUrl, "bench", Collections.nCopies(subscribers, runId));
        long connected = System.nanoTime() - t0;
        long released = System.nanoTime();
        Map<String, Long> sentAt = run.play(steps, latencyMs);
        List<Received> receipts = clients.awaitEnd();
        runs.remove(runId);
        Latencies roundEvents = new Latencies();
        Latencies roundDeltas = new Latencies();
        long delivered = 0;
        long last = released;
        for (Received m : receipts) {
          if (m.at() < released) continue; // the first message, before the run went on
          delivered++;
          last = Math.max(last, m.at());
          Long at = sentAt.get(m.seq() > 0 ? "seq " + m.seq() : m.deltaKey());
          if (at != null) (m.seq() > 0 ? roundEvents : roundDeltas).add(m.at() - at);
        }
        boolean warmUp = round <= warmup;
        System.out.printf("round %d%s: connected %d subscribers in %.1f s%n", round, warmUp ? " (warm-up)" : "",
            subscribers, connected / 1e9);
        System.out.printf("  sent -> delivered, events: %s%n", roundEvents.summary());
        System.out.printf("  sent -> delivered, token deltas: %s%n", roundDeltas.summary());
        System.out.printf("  delivered %d messages in %.1f s%n", delivered, (last - released) / 1e9);
        if (!warmUp) {
          events.addAll(roundEvents);
          deltas.addAll(roundDeltas);
        }
      }
      System.out.printf("rounds %d-%d together:%n", warmup + 1, rounds);
      System.out.printf("  sent -> delivered, events: %s%n", events.summary());
      System.out.printf("  sent -> delivered, token deltas: %s%n", deltas.summary());
    } finally {
      system.terminate();
    }
    System.exit(0);
  }

  /** One run's fan-out: a source per connection, and the messages played to all of them. */
  abstract static class Run {
    final String runId;

    Run(String runId) {
      this.runId = runId;
    }

    /** What one connection sends: the journal's first event, then what is played. */
    abstract Source<Message, NotUsed> connection();

    /** Sends {@code message} to every connection. */
    abstract void send(Message message);

    /** Ends every connection. */
    abstract void end();

    /**
     * Plays a run of {@code steps} LLM steps to every connection, paced as the node's simulated provider
     * paces them, and returns when each message was sent, by the key the clients record it under.
     */
    Map<String, Long> play(int steps, int latencyMs) throws Exception {
      Map<String, Long> sentAt = new ConcurrentHashMap<>();
      long seq = 2;
      long start = System.nanoTime();
      for (int i = 0; i < steps; i++) {
        // A benchmark's driver, not a test: the provider's latency, measured from the run's start so
        // that sending does not stretch it.
        long due = start + TimeUnit.MILLISECONDS.toNanos((long) latencyMs * (i + 1));
        TimeUnit.NANOSECONDS.sleep(Math.max(0, due - System.nanoTime()));
        String node = "s" + i;
        sentAt.put(node + "|null|1|1", System.nanoTime());
        send(TextMessage.create(delta(node)));
        sentAt.put("seq " + seq, System.nanoTime());
        send(TextMessage.create(event(seq++, "StepSucceeded", node, ANSWER)));
        String next = i + 1 < steps ? "StepScheduled" : "RunCompleted";
        sentAt.put("seq " + seq, System.nanoTime());
        send(TextMessage.create(event(seq++, next, i + 1 < steps ? "s" + (i + 1) : null, null)));
      }
      // The node keeps a stream open this long after the run's last event (orrery.stream.close-delay).
      TimeUnit.MILLISECONDS.sleep(500);
      end();
      return sentAt;
    }

    String event(long seq, String type, String node, String output) {
      Map<String, Object> data = new LinkedHashMap<>();
      data.put("node_id", node);
      data.put("attempt", 1);
      if (output != null) {
        data.put("output", Map.of("text", output, "model", "simulated-1", "provider", "simulated"));
        data.put("usage", Map.of("input_tokens", 31, "output_tokens", 27, "cost_usd", 0.000116));
        data.put("duration_ms", 201);
      } else {
        data.put("kind", "llm");
      }
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("seq", seq); // first: the clients read it so
      m.put("type", type);
      m.put("version", 1);
      m.put("run_id", runId);
      if (node != null) m.put("node_id", node);
      m.put("at", Instant.now().toString());
      m.put("data", data);
      return write(m);
    }

    String delta(String node) {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("type", "StepDelta");
      m.put("run_id", runId);
      m.put("node_id", node);
      m.put("at", Instant.now().toString());
      m.put("ephemeral", true);
      m.put("data", new LinkedHashMap<>(Map.of("attempt", 1, "text", ANSWER)));
      return write(m);
    }
  }

  /** A step's answer of the simulated provider's length (8-24 words and an echo of the prompt). */
  private static final String ANSWER = "Continuing the story of orbits: the small moon crossed the ring twice before "
      + "dawn, and the keepers of the orrery wrote down each pass, as they had for a hundred years.";

  private static String write(Object value) {
    try {
      return JSON.writeValueAsString(value);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String first(String runId) {
    return "{\"seq\":1,\"type\":\"RunAccepted\",\"version\":1,\"run_id\":\"" + runId + "\",\"data\":{}}";
  }

  /** Each connection's stream fed by an actor, told every message: the node's topic fan-out without the topic. */
  static final class ActorRun extends Run {
    private final List<ActorRef<Message>> connections = new CopyOnWriteArrayList<>();

    ActorRun(String runId) {
      super(runId);
    }

    @Override
    Source<Message, NotUsed> connection() {
      return ActorSource.<Message>actorRef(m -> m == END, m -> Optional.empty(), 256, OverflowStrategy.fail())
          .mapMaterializedValue(ref -> {
            connections.add(ref);
            return NotUsed.notUsed();
          })
          .prepend(Source.single(TextMessage.create(first(runId))));
    }

    @Override
    void send(Message message) {
      for (ActorRef<Message> c : connections) c.tell(message);
    }

    @Override
    void end() {
      send(END);
    }
  }

  /** One {@link BroadcastHub} per run, read by every connection: pekko-streams' own fan-out. */
  static final class HubRun extends Run {
    private final BoundedSourceQueue<Message> queue;
    private final Source<Message, NotUsed> hub;

    HubRun(ActorSystem<Void> system, String runId) {
      super(runId);
      var both = Source.<Message>queue(256).toMat(BroadcastHub.of(Message.class, 256), Keep.both()).run(system);
      queue = both.first();
      hub = both.second();
    }

    @Override
    Source<Message, NotUsed> connection() {
      return hub.prepend(Source.single(TextMessage.create(first(runId))));
    }

    @Override
    void send(Message message) {
      queue.offer(message);
    }

    @Override
    void end() {
      queue.complete();
    }
  }
}
