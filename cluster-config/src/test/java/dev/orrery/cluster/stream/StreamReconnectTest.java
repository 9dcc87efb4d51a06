package dev.orrery.cluster.stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.orrery.cluster.testing.SharedPostgres;
import dev.orrery.cluster.testing.StreamClient;
import dev.orrery.cluster.testing.TestNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A client that loses its connection three times at random points and reconnects from the last
 * sequence number it saw ends with exactly the run's journal, in order, nothing twice, the terminal event
 * last: over a WebSocket and over Server-Sent Events, both following one map fan-out at once.
 */
@ExtendWith(SharedPostgres.class)
class StreamReconnectTest {
  private static final Set<String> TERMINAL = Set.of("RunCompleted", "RunFailed", "RunCancelled");
  private static TestNode node;

  @BeforeAll
  static void start(SharedPostgres.TestDatabase db) throws Exception {
    // Slow enough calls that the run is still going while the clients drop and come back.
    node = TestNode.start(db, Map.of("orrery.llm.simulated.latency-ms", 300));
  }

  @AfterAll
  static void stop() throws Exception {
    if (node != null) node.close();
  }

  @Test
  void reconnectingClientsSeeTheWholeJournalOnceAndInOrder() throws Exception {
    List<String> items = new ArrayList<>();
    for (int i = 0; i < 12; i++) items.add("topic " + i);
    String runId = node.submit(Map.of("workflow", Map.of("name", "fan-out", "version", 1,
        "inputs", Map.of("topics", Map.of("type", "array")),
        "policy", Map.of("max_parallel", 3),
        "nodes", List.of(
            Map.of("id", "each", "type", "map", "over", "inputs.topics",
                "node", Map.of("type", "llm", "prompt", "One line on {{item}}")),
            Map.of("id", "summary", "type", "llm", "depends_on", List.of("each"),
                "prompt", "Summarise {{each.output}}"))),
        "inputs", Map.of("topics", items)));

    var overWebSocket = CompletableFuture.supplyAsync(() -> follow(runId, 1, (from, dropWhen) ->
        StreamClient.webSocket(node.api().baseUrl(), node.api().bearer(), runId, from, dropWhen, true)));
    var overSse = CompletableFuture.supplyAsync(() -> follow(runId, 2, (from, dropWhen) ->
        StreamClient.serverSentEvents(node.api().baseUrl(), node.api().bearer(), runId, from - 1, dropWhen)));

    List<JsonNode> journal = new ArrayList<>();
    node.awaitFinished(runId, Duration.ofSeconds(60));
    node.journal(runId).forEach(journal::add);
    for (var followed : List.of(overWebSocket, overSse)) {
      Followed f = followed.get(60, TimeUnit.SECONDS);
      assertEquals(3, f.drops, "the client dropped three times before the end");
      assertEquals(seqAndType(journal), seqAndType(f.events), "exactly the journal, in order, once");
      for (int i = 0; i < journal.size(); i++) {
        assertEquals(journal.get(i).get("data"), f.events.get(i).get("data"), "event " + (i + 1) + " as journaled");
        assertEquals(runId, f.events.get(i).get("run_id").asText());
      }
      assertTrue(TERMINAL.contains(f.events.get(f.events.size() - 1).get("type").asText()), "ends with the end");
      assertTrue(f.deltas > 0, "token deltas came live while the client was connected");
    }
  }

  private record Followed(List<JsonNode> events, int drops, int deltas) {}

  private interface Opener {
    StreamClient.Connection open(long fromSeq, Predicate<JsonNode> dropWhen);
  }

  /** Follows to the end, dropping after a random 1..5 further events, three times. */
  private static Followed follow(String runId, long seed, Opener opener) {
    Random random = new Random(seed);
    List<JsonNode> events = new ArrayList<>();
    int drops = 0;
    int deltas = 0;
    while (true) {
      int dropAfter = drops < 3 ? 1 + random.nextInt(5) : Integer.MAX_VALUE;
      AtomicInteger seen = new AtomicInteger();
      long from = events.isEmpty() ? 1 : events.get(events.size() - 1).get("seq").asLong() + 1;
      StreamClient.Connection c = opener.open(from, m -> m.has("seq") && seen.incrementAndGet() == dropAfter);
      String how = c.closed.orTimeout(30, TimeUnit.SECONDS).join();
      events.addAll(c.events());
      deltas += (int) c.messages.stream().filter(m -> "StepDelta".equals(m.path("type").asText())).count();
      // A client too slow for the node is told so and comes back from where it was, as after a drop.
      boolean cutOff = c.messages.stream().anyMatch(m -> "StreamClosed".equals(m.path("type").asText()));
      if (how.equals("dropped")) {
        drops++;
      } else if (!cutOff) {
        break;
      }
    }
    return new Followed(events, drops, deltas);
  }

  private static List<String> seqAndType(List<JsonNode> events) {
    return events.stream().map(e -> e.get("seq").asLong() + " " + e.get("type").asText()).toList();
  }
}
