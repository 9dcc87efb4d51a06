package dev.orrery.cluster.testing;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A client of a run's live stream as a browser or a script would be one: a WebSocket on
 * {@code /stream} (credential as {@code access_token}) or Server-Sent Events on {@code /events}
 * ({@code Authorization} header). A connection records every message it receives and can be dropped at
 * any message.
 */
public final class StreamClient {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder()
      .executor(Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "stream-client");
        t.setDaemon(true);
        return t;
      }))
      .connectTimeout(Duration.ofSeconds(5)).build();

  /** One connection: the messages so far, and how it ended. */
  public static final class Connection {
    public final List<JsonNode> messages = new CopyOnWriteArrayList<>();
    /** The messages as the server wrote them. */
    public final List<String> texts = new CopyOnWriteArrayList<>();
    /** Completes with the close reason (WebSocket) or "end" (SSE) when the server ends the stream. */
    public final CompletableFuture<String> closed = new CompletableFuture<>();
    private volatile Runnable drop = () -> {};
    /** The WebSocket itself (null for SSE): a test that opened it not reading asks it to read. */
    public volatile WebSocket socket;
    volatile Predicate<JsonNode> dropWhen = m -> false;

    /** Drops the connection from the client's side, as a lost network would. */
    public void drop() {
      drop.run();
    }

    /** Persisted events (with a seq), in the order received. */
    public List<JsonNode> events() {
      return messages.stream().filter(m -> m.has("seq")).toList();
    }

    public long lastSeq() {
      List<JsonNode> events = events();
      return events.isEmpty() ? 0 : events.get(events.size() - 1).get("seq").asLong();
    }

    void received(String text) {
      JsonNode message = parse(text);
      texts.add(text);
      messages.add(message);
      if (dropWhen.test(message)) drop();
    }
  }

  private StreamClient() {}

  /**
   * A WebSocket from {@code fromSeq}; {@code dropWhen} drops it right after a message it matches.
   * Reads only when told to if {@code reading} is false: a consumer that never reads.
   */
  public static Connection webSocket(String baseUrl, String key, String runId, long fromSeq,
      Predicate<JsonNode> dropWhen, boolean reading) {
    return webSocketAsync(baseUrl, key, runId, fromSeq, dropWhen, reading).join();
  }

  /** {@link #webSocket}, completing when the server has accepted the handshake: to open many at once. */
  public static CompletableFuture<Connection> webSocketAsync(String baseUrl, String key, String runId, long fromSeq,
      Predicate<JsonNode> dropWhen, boolean reading) {
    Connection c = new Connection();
    c.dropWhen = dropWhen;
    String uri = baseUrl.replaceFirst("^http", "ws") + "/api/v1/runs/" + runId + "/stream?from_seq=" + fromSeq
        + "&access_token=" + key;
    WebSocket.Listener listener = new WebSocket.Listener() {
      private final StringBuilder partial = new StringBuilder();

      @Override
      public void onOpen(WebSocket ws) {
        // Before the first message can arrive: a drop at the first messages must find the socket.
        c.socket = ws;
        c.drop = () -> {
          ws.abort();
          c.closed.complete("dropped");
        };
        if (reading) ws.request(1);
      }

      @Override
      public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
        partial.append(data);
        if (last) {
          String text = partial.toString();
          partial.setLength(0);
          c.received(text);
        }
        if (!c.closed.isDone()) ws.request(1);
        return null;
      }

      @Override
      public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
        c.closed.complete(statusCode + " " + reason);
        return null;
      }

      @Override
      public void onError(WebSocket ws, Throwable error) {
        c.closed.completeExceptionally(error);
      }
    };
    return HTTP.newWebSocketBuilder().buildAsync(URI.create(uri), listener).thenApply(ws -> c);
  }

  /** Server-Sent Events, resuming after {@code lastEventId} when it is positive. */
  public static Connection serverSentEvents(String baseUrl, String key, String runId, long lastEventId,
      Predicate<JsonNode> dropWhen) {
    Connection c = new Connection();
    c.dropWhen = dropWhen;
    var request = HttpRequest.newBuilder(URI.create(baseUrl + "/api/v1/runs/" + runId + "/events"))
        .header("Authorization", "Bearer " + key)
        .header("Accept", "text/event-stream");
    if (lastEventId > 0) request.header("Last-Event-ID", Long.toString(lastEventId));
    HttpResponse<Stream<String>> response;
    try {
      response = HTTP.send(request.GET().build(), HttpResponse.BodyHandlers.ofLines());
    } catch (Exception e) {
      throw new IllegalStateException("could not open the event stream", e);
    }
    if (response.statusCode() != 200) {
      throw new IllegalStateException("event stream answered " + response.statusCode());
    }
    Stream<String> lines = response.body();
    c.drop = () -> {
      c.closed.complete("dropped");
      lines.close();
    };
    Thread reader = new Thread(() -> {
      try {
        StringBuilder data = new StringBuilder();
        var it = lines.iterator();
        while (!c.closed.isDone() && it.hasNext()) {
          String line = it.next();
          if (line.startsWith("data:")) {
            data.append(line.substring(5).strip());
          } else if (line.isEmpty() && data.length() > 0) {
            c.received(data.toString());
            data.setLength(0);
          }
        }
        c.closed.complete("end");
      } catch (RuntimeException e) {
        if (!c.closed.isDone()) c.closed.completeExceptionally(e);
      }
    }, "sse-reader");
    reader.setDaemon(true);
    reader.start();
    return c;
  }

  private static JsonNode parse(String text) {
    try {
      return JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
