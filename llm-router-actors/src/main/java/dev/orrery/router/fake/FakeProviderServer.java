package dev.orrery.router.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import dev.orrery.core.port.ToolCall;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * A real HTTP server on 127.0.0.1 that speaks both provider wire protocols — OpenAI Chat Completions
 * ({@code POST /v1/chat/completions}, streaming and not; {@code GET /v1/models}) and Anthropic Messages
 * ({@code POST /v1/messages}, streaming and not) — and misbehaves on demand.
 *
 * <p>It lives in main code, not in tests, on purpose: the benchmarks use it as the upstream that the
 * router's overhead is measured against, and demos use it to show failover without a real provider.
 *
 * <p>Answers are deterministic: {@code "echo: <last user message>"}, with token counts of
 * whitespace-separated words (input: every message, and the system prompt; output: the answer), unless
 * a {@link CannedAnswer} was queued with {@link #enqueueAnswers}. Faults are set at run time from any
 * thread: {@link #enqueue} applies one fault to each of the next completion requests, in order;
 * {@link #setDefault} applies when that queue is empty; {@link #setLatency} delays every completion
 * answer (a benchmark's "200 ms upstream"). Every request is recorded ({@link #requests()}), with its
 * arrival time, so tests can prove "called once" or "not called faster than Retry-After"; a benchmark
 * sending millions of requests turns that off with {@link #setRecording(boolean)} and keeps the count.
 *
 * <p>Nothing here blocks or sleeps: delays are scheduled on the actor system's scheduler and streams
 * are paced by Pekko Streams, so thousands of concurrent requests cost timers, not threads.
 */
public final class FakeProviderServer implements AutoCloseable {
  private static final long BODY_TIMEOUT_MS = 10_000;
  /** Time between the last chunk sent and the abort, so those chunks reach the client before the reset. */
  private static final Duration DROP_AFTER = Duration.ofMillis(100);
  private static final String OVERLOADED = "Overloaded (fake)";

  private final ActorSystem<?> system;
  private final Executor executor;
  private final ServerBinding binding;
  private final ConcurrentLinkedQueue<Fault> faults = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<CannedAnswer> answers = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<RecordedRequest> recorded = new ConcurrentLinkedQueue<>();
  private final Set<CompletableFuture<HttpResponse>> hanging = ConcurrentHashMap.newKeySet();
  private final AtomicLong sequence = new AtomicLong();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Fault defaultFault = Fault.none();
  private volatile Duration latency = Duration.ZERO;
  /** Completion answers wait for this; completed unless a test holds them. */
  private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
  private volatile boolean recording = true;

  private FakeProviderServer(ActorSystem<?> system, Http http) {
    this.system = system;
    this.executor = system.executionContext();
    // Settings for a load generator's upstream: many connections, a deep accept backlog (the OS caps
    // it at net.core.somaxconn), and no request timeout, so a hang is a hang and not pekko's own 503.
    ServerSettings settings = ServerSettings.create(ConfigFactory.parseString(
            "pekko.http.server { max-connections = 16384, backlog = 4096, request-timeout = infinite }")
        .withFallback(system.settings().config()));
    try {
      this.binding = http.newServerAt("127.0.0.1", 0).withSettings(settings).bind(this::handle)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding the fake provider server", e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("could not bind the fake provider server on 127.0.0.1", e);
    }
  }

  /** Binds a free port on 127.0.0.1; blocks until bound (call it from a test or a main, not an actor). */
  public static FakeProviderServer start(ActorSystem<?> system) {
    return new FakeProviderServer(system, Http.get(system));
  }

  public int port() {
    return binding.localAddress().getPort();
  }

  /** The OpenAI-compatible base URL, {@code http://127.0.0.1:<port>/v1}. */
  public String openAiBaseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** The Anthropic base URL, {@code http://127.0.0.1:<port>} (the client adds {@code /v1/messages}). */
  public String anthropicBaseUrl() {
    return "http://127.0.0.1:" + port();
  }

  /** One fault for each of the next completion requests, in order, before the default applies again. */
  public void enqueue(Fault... next) {
    for (Fault f : next) faults.add(Objects.requireNonNull(f, "fault"));
  }

  /** The fault of every completion request once the queue is empty ({@link Fault#none()} to stop). */
  public void setDefault(Fault fault) {
    defaultFault = Objects.requireNonNull(fault, "fault");
  }

  /** Added before every completion answer (the time to the first byte). */
  public void setLatency(Duration latency) {
    if (latency == null || latency.isNegative()) {
      throw new IllegalArgumentException("latency must be >= 0, was " + latency);
    }
    this.latency = latency;
  }

  /**
   * From now on completion requests are received (and counted) but not answered, as a provider that
   * stalls, until {@link #releaseAnswers()}: lets a test see every call that was made before any answer
   * comes back.
   */
  public synchronized void holdAnswers() {
    if (gate.isDone()) gate = new CompletableFuture<>();
  }

  /** Answers every held request (after its latency, if any) and stops holding. */
  public synchronized void releaseAnswers() {
    gate.complete(null);
  }

  /**
   * Answers for the next requests that are answered with a 200, in order, instead of the echo. A request
   * that fails by a fault (an error status, a hang, a drop, malformed JSON) leaves the queue as it is,
   * so a retried call gets the answer its first attempt should have had.
   */
  public void enqueueAnswers(CannedAnswer... next) {
    for (CannedAnswer a : next) answers.add(Objects.requireNonNull(a, "answer"));
  }

  /** Whether request bodies and times are kept; the count is kept either way. */
  public void setRecording(boolean on) {
    recording = on;
  }

  /** How many requests arrived, of any kind, since the start. */
  public long requestCount() {
    return sequence.get();
  }

  /** How many requests arrived on {@code path} (among the recorded ones). */
  public long requestCount(String path) {
    return recorded.stream().filter(r -> r.path().equals(path)).count();
  }

  /** The recorded requests in arrival order. */
  public List<RecordedRequest> requests() {
    List<RecordedRequest> list = new ArrayList<>(recorded);
    list.sort((a, b) -> Long.compare(a.sequence(), b.sequence()));
    return list;
  }

  /** Forgets the recorded requests (the count goes on). */
  public void clearRequests() {
    recorded.clear();
  }

  /** Answers every hanging request with 503, then unbinds and closes every connection. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) return;
    releaseAnswers();
    for (CompletableFuture<HttpResponse> pending : hanging) {
      pending.complete(HttpResponse.create().withStatus(503)
          .withEntity(ContentTypes.APPLICATION_JSON, "{\"error\":{\"message\":\"fake server closed\"}}"));
    }
    try {
      binding.terminate(Duration.ofSeconds(2)).toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      system.log().warn("the fake provider server on port {} did not terminate cleanly", port(), e);
    }
  }

  private CompletionStage<HttpResponse> handle(HttpRequest request) {
    long seq = sequence.incrementAndGet();
    long nanos = System.nanoTime();
    Instant at = Instant.now();
    return request.entity().toStrict(BODY_TIMEOUT_MS, system)
        .thenComposeAsync(strict -> route(request, strict.getData().utf8String(), seq, at, nanos), executor);
  }

  private CompletionStage<HttpResponse> route(HttpRequest request, String body, long seq, Instant at, long nanos) {
    String path = request.getUri().path();
    if (recording) {
      recorded.add(new RecordedRequest(seq, request.method().value(), path, headers(request), body, at, nanos));
    }
    if ("/v1/models".equals(path)) {
      return CompletableFuture.completedFuture(request.method().equals(HttpMethods.GET) ? json(200, models())
          : json(405, FakeWire.OPENAI.error(405, "use GET")));
    }
    FakeWire wire = "/v1/chat/completions".equals(path) ? FakeWire.OPENAI
        : "/v1/messages".equals(path) ? FakeWire.ANTHROPIC : null;
    if (wire == null) {
      return CompletableFuture.completedFuture(json(404, FakeWire.OPENAI.error(404, "no route " + path)));
    }
    if (!request.method().equals(HttpMethods.POST)) {
      return CompletableFuture.completedFuture(json(405, wire.error(405, "use POST")));
    }
    JsonNode json;
    try {
      json = FakeWire.JSON.readTree(body);
      if (json == null || !json.isObject()) throw new IOException("not a JSON object");
    } catch (IOException e) {
      return CompletableFuture.completedFuture(json(400, wire.error(400, "the body is not a JSON object")));
    }
    Fault fault = nextFault();
    if (fault instanceof Fault.Hang) {
      CompletableFuture<HttpResponse> pending = new CompletableFuture<>();
      hanging.add(pending);
      pending.whenCompleteAsync((r, e) -> hanging.remove(pending), executor);
      if (closed.get()) pending.complete(json(503, wire.error(503, "fake server closed")));
      return pending;
    }
    Duration wait = latency;
    if (fault instanceof Fault.Delay) wait = wait.plus(((Fault.Delay) fault).delay());
    CompletableFuture<Void> held = gate;
    if (!held.isDone()) {
      Duration after = wait;
      return held.thenComposeAsync(released -> after.isZero()
          ? CompletableFuture.completedFuture(answer(wire, json, fault, seq))
          : Patterns.after(after, system, () -> CompletableFuture.completedFuture(answer(wire, json, fault, seq))),
          executor);
    }
    if (wait.isZero()) return CompletableFuture.completedFuture(answer(wire, json, fault, seq));
    return Patterns.after(wait, system, () -> CompletableFuture.completedFuture(answer(wire, json, fault, seq)));
  }

  private Fault nextFault() {
    Fault next = faults.poll();
    return next != null ? next : defaultFault;
  }

  private HttpResponse answer(FakeWire wire, JsonNode request, Fault fault, long seq) {
    if (fault instanceof Fault.Status) {
      Fault.Status status = (Fault.Status) fault;
      HttpResponse response = json(status.status(), wire.error(status.status(), status.message()));
      List<HttpHeader> headers = wire.rateLimitHeaders(status.retryAfter());
      return headers.isEmpty() ? response : response.addHeaders(headers);
    }
    FakeWire.Prompt prompt = wire.read(request);
    if (fault instanceof Fault.ErrorMidStream && !prompt.stream()) {
      return json(503, wire.error(503, OVERLOADED));
    }
    // Only an answer that arrives whole uses up a canned answer; a broken one leaves it for the retry.
    boolean whole = fault instanceof Fault.None || fault instanceof Fault.Delay || fault instanceof Fault.SlowStream;
    CannedAnswer canned = whole ? answers.poll() : answers.peek();
    FakeWire.Reply reply = reply(wire, prompt, canned, seq);
    if (!prompt.stream()) {
      if (fault instanceof Fault.Malformed) return raw(200, ContentTypes.APPLICATION_JSON, wire.malformedBody());
      String body = FakeWire.json(wire.answer(reply));
      if (fault instanceof Fault.DropMidStream) {
        Source<ByteString, NotUsed> half = Source.single(ByteString.fromString(body.substring(0, body.length() / 2)));
        return HttpResponse.create().withEntity(
            HttpEntities.createChunked(ContentTypes.APPLICATION_JSON, half.concat(dropAfter(DROP_AFTER))));
      }
      return raw(200, ContentTypes.APPLICATION_JSON, body);
    }
    List<FakeWire.Event> events = fault instanceof Fault.Malformed
        ? wire.malformedStream(reply) : wire.stream(reply, prompt.includeUsage());
    Source<ByteString, NotUsed> stream;
    if (fault instanceof Fault.ErrorMidStream) {
      List<FakeWire.Event> cut = new ArrayList<>(upToDelta(events, ((Fault.ErrorMidStream) fault).deltas()));
      cut.add(wire.errorEvent(OVERLOADED));
      stream = paced(cut, null);
    } else if (fault instanceof Fault.DropMidStream) {
      stream = paced(upToDelta(events, ((Fault.DropMidStream) fault).deltas()), null).concat(dropAfter(DROP_AFTER));
    } else {
      stream = paced(events, fault instanceof Fault.SlowStream ? ((Fault.SlowStream) fault).betweenEvents() : null);
    }
    return HttpResponse.create()
        .addHeader(RawHeader.create("Cache-Control", "no-cache"))
        .withEntity(HttpEntities.createChunked(MediaTypes.TEXT_EVENT_STREAM.toContentType(), stream));
  }

  private FakeWire.Reply reply(FakeWire wire, FakeWire.Prompt prompt, CannedAnswer canned, long seq) {
    String text = canned != null ? canned.text() : "echo: " + prompt.lastUserText();
    List<ToolCall> toolCalls = canned != null ? canned.toolCalls() : List.of();
    long tokensOut = FakeWire.tokens(text);
    for (ToolCall call : toolCalls) tokensOut += FakeWire.tokens(call.name()) + FakeWire.tokens(call.arguments());
    String id = (wire == FakeWire.OPENAI ? "chatcmpl-fake-" : "msg_fake_") + seq;
    return new FakeWire.Reply(id, prompt.model(), text, toolCalls, prompt.tokensIn(), tokensOut);
  }

  /** The events before the ({@code deltas}+1)-th content delta. */
  private static List<FakeWire.Event> upToDelta(List<FakeWire.Event> events, int deltas) {
    List<FakeWire.Event> prefix = new ArrayList<>();
    int seen = 0;
    for (FakeWire.Event e : events) {
      if (e.delta() && seen++ == deltas) break;
      prefix.add(e);
    }
    return prefix;
  }

  private static Source<ByteString, NotUsed> paced(List<FakeWire.Event> events, Duration between) {
    Source<ByteString, NotUsed> source = Source.from(events).map(FakeWire.Event::bytes);
    return between == null ? source : source.throttle(1, between);
  }

  /**
   * Fails the entity stream after {@code delay}: pekko-http then aborts the connection without the
   * chunked body's last chunk, which the client sees as a truncated stream, as with a real drop.
   */
  private Source<ByteString, NotUsed> dropAfter(Duration delay) {
    return Source.completionStage(Patterns.after(delay, system,
            () -> CompletableFuture.<ByteString>failedFuture(new IOException("fault: connection dropped mid-stream"))))
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  private static ObjectNode models() {
    ObjectNode body = FakeWire.JSON.createObjectNode().put("object", "list");
    var data = body.putArray("data");
    for (String id : List.of("fake-small", "fake-large")) {
      data.addObject().put("id", id).put("object", "model").put("created", 1_700_000_000L)
          .put("owned_by", "orrery-fake");
    }
    return body;
  }

  private static Map<String, String> headers(HttpRequest request) {
    Map<String, String> headers = new HashMap<>();
    for (HttpHeader h : request.getHeaders()) headers.put(h.lowercaseName(), h.value());
    headers.put("content-type", request.entity().getContentType().toString());
    return headers;
  }

  private static HttpResponse json(int status, JsonNode body) {
    return raw(status, ContentTypes.APPLICATION_JSON, FakeWire.json(body));
  }

  private static HttpResponse raw(int status, ContentType.NonBinary type, String body) {
    return HttpResponse.create().withStatus(status).withEntity(HttpEntities.create(type, body));
  }
}
