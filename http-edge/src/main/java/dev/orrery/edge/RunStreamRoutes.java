package dev.orrery.edge;

import static org.apache.pekko.http.javadsl.server.Directives.completeOK;
import static org.apache.pekko.http.javadsl.server.Directives.handleWebSocketMessages;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import dev.orrery.core.stream.RunFeed;
import dev.orrery.core.stream.RunUpdate;
import dev.orrery.core.stream.StreamSettings;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.TextMessage;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A run's live stream on the wire: {@code /stream} as a WebSocket of JSON text messages, {@code /events}
 * as Server-Sent Events whose {@code id} is the event's sequence number (so a browser's
 * {@code EventSource} reconnects with {@code Last-Event-ID} by itself). Both end after the run's terminal
 * event; a client that falls too far behind gets a {@code StreamClosed} message saying so, then the end.
 */
final class RunStreamRoutes {
  static final String CLOSED = "StreamClosed";
  static final String HEARTBEAT = "Heartbeat";

  private final RunFeed feed;
  private final StreamSettings settings;
  private final ObjectMapper json;
  /**
   * Writes ASCII only (other characters as {@code \\uXXXX}, the same JSON once parsed). The WebSocket and
   * SSE layers encode a message's text to UTF-8 once per connection; a text with one character beyond
   * Latin-1 (an ellipsis, a curly quote: common in model output) is a UTF-16 string in the JVM, whose
   * encoding allocates three bytes a character and copies again, and that was a fifth of the node's
   * allocation with 1,000 subscribers (docs/benchmarks.md). An ASCII string is encoded by one exact copy.
   */
  private final ObjectWriter asciiJson;
  /**
   * The text of recently written updates, by identity. Every subscriber of a run on this node receives
   * the same instance from the run's topic, so an update is written once per node rather than once per
   * subscriber (at 1,000 subscribers, JSON writing was the largest part of the node's work). A slot holds
   * the update it was written from; a different update in the slot is a miss, never a wrong text.
   */
  private final AtomicReferenceArray<Written> written = new AtomicReferenceArray<>(1024);

  private record Written(RunUpdate update, String text) {}

  RunStreamRoutes(RunFeed feed, StreamSettings settings, ObjectMapper json) {
    this.feed = feed;
    this.settings = settings;
    this.json = json;
    this.asciiJson = json.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII);
  }

  Route webSocket(String tenantId, String runId, long fromSeq) {
    Source<Message, NotUsed> out = updates(tenantId, runId, fromSeq)
        .map(u -> (Message) TextMessage.create(write(u)))
        .keepAlive(settings.heartbeatInterval(), () -> TextMessage.create(write(control(HEARTBEAT, null))));
    // What the client sends is read and ignored; its close ends the stream (coupled).
    return handleWebSocketMessages(Flow.fromSinkAndSourceCoupled(Sink.ignore(), out));
  }

  Route serverSentEvents(String tenantId, String runId, long fromSeq) {
    Source<ServerSentEvent, NotUsed> out = updates(tenantId, runId, fromSeq)
        .map(u -> ServerSentEvent.create(write(u), Optional.of(u.type()),
            u.isEphemeral() ? Optional.empty() : Optional.of(Long.toString(u.seq())), OptionalInt.empty()))
        .keepAlive(settings.heartbeatInterval(), ServerSentEvent::heartbeat);
    return completeOK(out, EventStreamMarshalling.toEventStream());
  }

  private Source<RunUpdate, NotUsed> updates(String tenantId, String runId, long fromSeq) {
    return feed.follow(tenantId, runId, fromSeq)
        .recover(BufferOverflowException.class, () -> control(CLOSED, "slow consumer: the client fell more than "
            + settings.bufferSize() + " messages behind; reconnect with the last seq received to resume"));
  }

  private RunUpdate control(String type, String reason) {
    var data = json.createObjectNode();
    if (reason != null) data.put("reason", reason);
    return new RunUpdate(null, type, null, null, null, Instant.now(), true, data);
  }

  private String write(RunUpdate u) {
    int slot = System.identityHashCode(u) & (written.length() - 1);
    Written w = written.get(slot);
    if (w != null && w.update() == u) return w.text();
    String text = writeNew(u);
    written.set(slot, new Written(u, text));
    return text;
  }

  private String writeNew(RunUpdate u) {
    try {
      return asciiJson.writeValueAsString(u);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
