package dev.orrery.router.provider;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import dev.orrery.core.port.DeltaSink;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.RequestEntity;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.javadsl.unmarshalling.sse.EventStreamUnmarshalling;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The HTTP exchange every adapter shares: one pekko-http connection pool per endpoint, the per-attempt
 * deadline over the whole exchange (stream included), reading JSON and SSE bodies, and turning every
 * failure into a {@link ProviderException}. Adapters only build requests and read their protocol's
 * JSON.
 *
 * <p>pekko-http requires every response entity to be consumed or cancelled, or its connection stays
 * blocked: each path here either reads the entity to its end or cancels it, and an exchange that ends
 * early (timeout, error event, a caller's cancel) aborts its kill switch, which cancels the entity and
 * so closes that connection.
 *
 * <p>SSE is read with pekko-http's own {@link EventStreamUnmarshalling} rather than a hand-rolled line
 * splitter: it implements the whole SSE grammar (CR, LF and CRLF line ends, multi-line {@code data},
 * {@code event} names, which the Anthropic stream needs, comments used as keep-alives) and enforces a
 * size limit per event, so a provider that never ends a line cannot exhaust memory.
 */
final class ProviderHttpClient {
  static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_ERROR_BODY_BYTES = 64 * 1024;

  private final String provider;
  private final ActorSystem<?> system;
  private final Http http;
  private final ConnectionPoolSettings pool;
  private final Unmarshaller<HttpEntity, Source<ServerSentEvent, NotUsed>> sse;
  private final ProviderHttpSettings settings;
  private final Executor executor;
  private final Clock clock;

  ProviderHttpClient(String provider, ActorSystem<?> system, ProviderHttpSettings settings, Clock clock) {
    this.provider = provider;
    this.system = system;
    this.settings = settings;
    this.clock = clock;
    this.http = Http.get(system);
    Config config = system.settings().config();
    this.pool = settings.poolSettings(config);
    this.sse = EventStreamUnmarshalling.fromEventsStream(settings.sseSettings(config));
    // Never the common ForkJoinPool: on two cores it spawns a thread per callback (FACTS.md).
    this.executor = system.executionContext();
  }

  /** Reads a 2xx answer. It must consume or cancel the entity, through the exchange's helpers. */
  @FunctionalInterface
  interface AnswerReader {
    CompletionStage<ProviderResponse> read(HttpResponse response, Exchange exchange);
  }

  /** One SSE event; answers true when it was the protocol's end marker. */
  @FunctionalInterface
  interface EventHandler {
    boolean onEvent(String eventType, String data);
  }

  /**
   * The requests of one operation of an endpoint, with the URI parsed and the fixed headers made once, at
   * start: parsing the URI string of every call was about 3 % of a gateway call's CPU, and a base URL that
   * is no URL stops the node with its provider named.
   */
  static final class Operation {
    private final HttpRequest answer;
    private final HttpRequest stream;

    /**
     * @param path the operation's path under the base URL
     * @param headers sent with every request (the key, a version); {@code Accept} is added here
     */
    Operation(String provider, String baseUrl, String path, List<HttpHeader> headers) {
      if (provider == null || provider.isBlank()) throw new IllegalArgumentException("a provider needs a name");
      if (baseUrl == null || baseUrl.isBlank()) {
        throw new IllegalArgumentException("provider '" + provider + "' needs a base URL, was " + baseUrl);
      }
      String root = baseUrl.strip();
      while (root.endsWith("/")) root = root.substring(0, root.length() - 1);
      HttpRequest post;
      try {
        post = HttpRequest.POST(root + path).addHeaders(headers);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("provider '" + provider + "' has a base URL that is not a URL: " + baseUrl
            + " (" + e.getMessage() + ")", e);
      }
      this.answer = post.addHeader(RawHeader.create("Accept", "application/json"));
      this.stream = post.addHeader(RawHeader.create("Accept", "text/event-stream"));
    }

    HttpRequest request(boolean streaming, RequestEntity body) {
      return (streaming ? stream : answer).withEntity(body);
    }
  }

  /** A JSON request body. */
  RequestEntity json(JsonNode body) {
    try {
      return HttpEntities.create(ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree always serializes", e);
    }
  }

  /**
   * Sends one request and reads its answer within {@code timeout}. The stage completes with the answer
   * or fails with a {@link ProviderException}, nothing else.
   */
  CompletionStage<ProviderResponse> send(HttpRequest request, Duration timeout, AnswerReader reader) {
    Exchange exchange = new Exchange();
    Cancellable deadline = system.scheduler().scheduleOnce(
        timeout, () -> exchange.fail(ProviderFailures.timeout(provider, timeout)), system.executionContext());
    // Cheap enough to run where the result completes (the dispatcher, or the deadline's task on it):
    // each hop to the executor that is not needed costs a task and often a thread's wake-up.
    exchange.result.whenComplete((ok, failure) -> {
      deadline.cancel();
      // Whatever ended the exchange early, stop reading: aborting cancels the entity, which closes the
      // connection rather than leaving a stream we no longer want to trickle in.
      if (failure != null) exchange.kill.abort(failure);
    });
    CompletionStage<HttpResponse> sent;
    try {
      sent = http.singleRequest(request, http.defaultClientHttpsContext(), pool, system.classicSystem().log());
    } catch (RuntimeException e) {
      exchange.fail(ProviderFailures.beforeResponse(provider, e));
      return exchange.result;
    }
    sent.whenCompleteAsync((response, failure) -> onResponse(exchange, response, failure, reader), executor);
    return exchange.result;
  }

  private void onResponse(Exchange exchange, HttpResponse response, Throwable failure, AnswerReader reader) {
    if (failure != null) {
      exchange.fail(ProviderFailures.beforeResponse(provider, failure));
      return;
    }
    if (exchange.finished()) {
      cancel(response); // timed out (or cancelled) before the headers came
      return;
    }
    int status = response.status().intValue();
    if (status >= 200 && status <= 299) {
      CompletionStage<ProviderResponse> answer;
      try {
        answer = reader.read(response, exchange);
      } catch (RuntimeException e) {
        // Readers only set up streams, so this is a bug; still the call must end now, not at its deadline.
        cancel(response);
        exchange.fail(answerFailure(e));
        return;
      }
      // Readers complete their answer on the executor already (or at once, for a strict entity).
      answer.whenComplete((ok, err) -> {
        if (err == null) {
          exchange.result.complete(ok);
        } else {
          exchange.fail(answerFailure(err));
        }
      });
    } else {
      String retryAfterMs = header(response, "retry-after-ms");
      String retryAfter = header(response, "retry-after");
      exchange.readText(response, MAX_ERROR_BODY_BYTES).whenCompleteAsync((body, err) -> exchange.fail(
          ProviderFailures.forStatus(provider, status, retryAfterMs, retryAfter, err == null ? body : null, clock)),
          executor);
    }
  }

  /** A failure while reading a 2xx answer: the helpers classify their own; anything else is unreadable JSON. */
  private ProviderException answerFailure(Throwable err) {
    Throwable t = ProviderFailures.unwrap(err);
    if (t instanceof ProviderException) return (ProviderException) t;
    return ProviderFailures.malformed(provider, "could not read the answer: " + ProviderFailures.describe(t), t);
  }

  private void cancel(HttpResponse response) {
    response.entity().getDataBytes().runWith(Sink.cancelled(), system);
  }

  private static String header(HttpResponse response, String name) {
    return response.getHeader(name).map(HttpHeader::value).orElse(null);
  }

  /** One request's state: its result, the switch that stops its entity stream, its sink's health. */
  final class Exchange {
    final CompletableFuture<ProviderResponse> result = new CompletableFuture<>();
    final SharedKillSwitch kill = KillSwitches.shared("provider-" + provider);
    private volatile boolean sinkFailed;

    boolean finished() {
      return result.isDone();
    }

    void fail(ProviderException e) {
      result.completeExceptionally(e);
    }

    private CompletionStage<ByteString> strictBody(HttpEntity.Strict entity, long limit) {
      if (entity.getData().size() > limit) {
        return CompletableFuture.failedFuture(new EntityStreamSizeException(limit, scala.Option.apply(
            (Object) (long) entity.getData().size())));
      }
      return CompletableFuture.completedFuture(entity.getData());
    }

    boolean isEventStream(HttpResponse response) {
      MediaType type = response.entity().getContentType().mediaType();
      return "text".equals(type.mainType()) && "event-stream".equals(type.subType());
    }

    /** The body as JSON, up to the configured size. */
    CompletionStage<JsonNode> readJson(HttpResponse response) {
      long limit = settings.maxResponseBytes();
      CompletableFuture<JsonNode> json = new CompletableFuture<>();
      // Most answers arrive whole with their headers (a strict entity): read them without materializing
      // a stream, which costs an actor per exchange; only a body still arriving is read as a stream.
      // A strict body is parsed right here, on the executor that handles the response.
      boolean strict = response.entity().isStrict();
      CompletionStage<ByteString> body = strict
          ? strictBody((HttpEntity.Strict) response.entity(), limit)
          : response.entity().withSizeLimit(limit).getDataBytes()
              .via(kill.<ByteString>flow())
              .runFold(ByteString.emptyByteString(), ByteString::concat, system);
      BiConsumer<ByteString, Throwable> parse = (bytes, failure) -> {
        if (failure != null) {
          json.completeExceptionally(bodyFailure(failure, limit));
          return;
        }
        try {
          JsonNode node = JSON.readTree(bytes.toArray());
          if (node == null || node.isMissingNode()) throw new IOException("empty body");
          json.complete(node);
        } catch (IOException e) {
          json.completeExceptionally(ProviderFailures.malformed(provider, "the body is not JSON (" + e.getMessage()
              .lines().findFirst().orElse("") + ")", e));
        }
      };
      if (strict) body.whenComplete(parse); else body.whenCompleteAsync(parse, executor);
      return json;
    }

    private ProviderException bodyFailure(Throwable failure, long limit) {
      Throwable t = ProviderFailures.unwrap(failure);
      if (t instanceof ProviderException) return (ProviderException) t; // the deadline's abort
      if (t instanceof EntityStreamSizeException) {
        return ProviderFailures.malformed(provider, "the answer is larger than " + limit + " bytes", t);
      }
      return new ProviderException(provider, ProviderException.Kind.CONNECTION, 200, null,
          "connection lost before the whole answer arrived: " + ProviderFailures.describe(t), t);
    }

    /**
     * Feeds the SSE events of the body to {@code handler} in order. Completes when the handler saw the
     * end marker; fails with what the handler threw, or with {@code STREAM_INTERRUPTED} when the stream
     * ends or breaks before the marker. After the marker, the rest of the body is drained quietly.
     */
    CompletionStage<Void> readEvents(HttpResponse response, String endMarker, EventHandler handler) {
      CompletableFuture<Void> ended = new CompletableFuture<>();
      sse.unmarshal(response.entity().withoutSizeLimit(), system)
          .thenComposeAsync(events -> events.via(kill.<ServerSentEvent>flow()).runForeach(event -> {
            if (!ended.isDone() && handler.onEvent(event.getEventType().orElse(null), event.getData())) {
              ended.complete(null);
            }
          }, system), executor)
          .whenCompleteAsync((done, failure) -> {
            if (ended.isDone()) return; // the answer was complete: what the connection did next does not matter
            if (failure == null) {
              ended.completeExceptionally(ProviderFailures.streamInterrupted(
                  provider, "the stream ended before its end marker (" + endMarker + ")", null));
              return;
            }
            Throwable t = ProviderFailures.unwrap(failure);
            ended.completeExceptionally(t instanceof ProviderException ? t : ProviderFailures.streamInterrupted(
                provider, "the stream broke before its end marker (" + endMarker + "): " + ProviderFailures.describe(t),
                t));
          }, executor);
      return ended;
    }

    /** At most {@code maxBytes} of the body as text; the rest is drained, not kept. */
    CompletionStage<String> readText(HttpResponse response, int maxBytes) {
      return response.entity().withoutSizeLimit().getDataBytes()
          .via(kill.<ByteString>flow())
          .runFold(ByteString.emptyByteString(),
              (acc, chunk) -> acc.size() >= maxBytes ? acc : acc.concat(chunk.take(maxBytes - acc.size())), system)
          .thenApplyAsync(ByteString::utf8String, executor);
    }

    /**
     * Hands a text delta to the call's sink, in order, and never after the exchange ended (a timed-out
     * call must not keep talking). Deltas are ephemeral: a sink that throws is logged once and skipped,
     * never allowed to fail a call whose answer is still good.
     */
    void deliver(DeltaSink sink, String text) {
      if (sink == null || text == null || text.isEmpty() || result.isDone()) return;
      try {
        sink.onDelta(text);
      } catch (RuntimeException e) {
        if (!sinkFailed) {
          sinkFailed = true;
          system.log().warn("{}: the delta sink failed; further deltas of this call are still offered", provider, e);
        }
      }
    }
  }
}
