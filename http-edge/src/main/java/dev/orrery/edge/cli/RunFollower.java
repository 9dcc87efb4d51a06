package dev.orrery.edge.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Follows a run's live stream ({@code GET /runs/{id}/events}) to its terminal event. The stream is read on
 * a daemon thread into a queue, so the caller can give up at its deadline. A connection that drops before
 * the terminal event is reopened with {@code Last-Event-ID} set to the last sequence number seen; the
 * server replays from there, and a persisted message seen before is never passed on twice.
 */
final class RunFollower {
  static final Set<String> TERMINAL = Set.of("RunCompleted", "RunFailed", "RunCancelled");
  /** The server's notice that it cut a slow client off; the stream ends after it and we reconnect. */
  private static final String CLOSED = "StreamClosed";

  /** Reconnects in a row without a new event in between, before giving up. */
  private static final int MAX_RECONNECTS = 5;
  private static final Duration BACKOFF = Duration.ofMillis(250);

  private sealed interface Item {}

  private record Message(JsonNode message) implements Item {}

  /** The stream failed for good (an ApiException), or the reader itself did (a bug, rethrown as is). */
  private record Failed(RuntimeException error) implements Item {}

  private final OrreryClient client;
  private final String runId;
  private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
  private final AtomicReference<Stream<String>> open = new AtomicReference<>();
  private volatile boolean stopped;

  RunFollower(OrreryClient client, String runId) {
    this.client = client;
    this.runId = runId;
  }

  /**
   * Passes every message of the run, in order, to {@code onMessage} until the terminal one.
   *
   * @return the terminal message, or empty when the deadline passed first
   * @throws ApiException when the server refuses the stream, or cannot be reached again
   */
  Optional<JsonNode> follow(Deadline deadline, Consumer<JsonNode> onMessage) {
    Thread reader = new Thread(this::read, "orrery-follow");
    reader.setDaemon(true);
    reader.start();
    try {
      while (true) {
        Item item = deadline.isNone() ? queue.take()
            : queue.poll(deadline.remaining().toNanos(), TimeUnit.NANOSECONDS);
        if (item == null) return Optional.empty();
        if (item instanceof Failed failed) throw failed.error();
        JsonNode message = ((Message) item).message();
        onMessage.accept(message);
        if (TERMINAL.contains(message.path("type").asText())) return Optional.of(message);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } finally {
      stop();
    }
  }

  private void read() {
    try {
      readToTheEnd();
    } catch (RuntimeException e) {
      queue.add(new Failed(e));
    }
  }

  private void readToTheEnd() {
    long lastSeq = 0;
    int failures = 0;
    ApiException lastError = null;
    while (!stopped) {
      try (Stream<String> lines = client.events(runId, lastSeq)) {
        open.set(lines);
        if (stopped) return;
        ServerSentEvents parser = new ServerSentEvents();
        Iterator<String> it = lines.iterator();
        while (it.hasNext()) {
          Optional<ServerSentEvents.Event> event = parser.accept(it.next());
          if (event.isEmpty()) continue;
          JsonNode message = parse(event.get());
          if (CLOSED.equals(message.path("type").asText())) continue;
          long seq = message.path("seq").asLong(0);
          if (seq > 0) {
            if (seq <= lastSeq) continue; // replayed again after a reconnect
            lastSeq = seq;
            failures = 0;
          }
          queue.add(new Message(message));
          if (TERMINAL.contains(message.path("type").asText())) return;
        }
        lastError = new ApiException(0, "STREAM_ENDED",
            "the event stream of run " + runId + " ended before the run did", null);
      } catch (ApiException e) {
        if (e.refused() || e.code().equals("BAD_RESPONSE")) {
          queue.add(new Failed(e));
          return;
        }
        lastError = e;
      } catch (UncheckedIOException e) {
        lastError = ApiException.unreachable(client.baseUrl(), e.getCause());
      }
      if (stopped) return;
      if (++failures > MAX_RECONNECTS) {
        queue.add(new Failed(lastError));
        return;
      }
      try {
        Thread.sleep(BACKOFF.toMillis() * failures);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static JsonNode parse(ServerSentEvents.Event event) {
    try {
      JsonNode message = OrreryClient.json().readTree(event.data());
      if (message != null && message.isObject()) {
        if (!message.hasNonNull("type")) ((ObjectNode) message).put("type", event.type());
        return message;
      }
    } catch (JsonProcessingException e) {
      // described below
    }
    throw new ApiException(200, "BAD_RESPONSE", "an event of the stream is not a JSON object: " + event.data(), null);
  }

  private void stop() {
    stopped = true;
    Stream<String> lines = open.getAndSet(null);
    if (lines != null) {
      try {
        lines.close();
      } catch (RuntimeException e) {
        // hanging up: nothing left to read from it
      }
    }
  }
}
