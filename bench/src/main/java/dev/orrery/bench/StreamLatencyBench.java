package dev.orrery.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.orrery.cluster.OrreryNode;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunListener;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live stream fan-out: N WebSocket subscribers on one node follow R runs (N/R each) while the runs
 * execute a chain of LLM steps against the simulated provider. Prints the time from an event's
 * persistence (the node's run listener, called when the journal acknowledged the write, just before the
 * run publishes it) to its arrival at each subscriber (client and node in one JVM, both on
 * {@code System.nanoTime}): p50/p99/max over every (event, subscriber) pair, the same for the token
 * deltas (from the provider's piece of text to the subscriber), and messages delivered per second.
 *
 * <p>The runs wait for budget (their tenant may spend one token; the policy pauses) until every subscriber
 * is connected, so the figures are of live delivery, not of the journal reads that start each stream.
 *
 * <p>Arguments (all optional): {@code subscribers=1000 runs=1 steps=10 latency-ms=200 rounds=2} (the
 * last round is reported; earlier ones warm the JIT up), and any {@code orrery.*} or {@code pekko.*}
 * setting to compare.
 */
public final class StreamLatencyBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (String a : args) {
      String[] kv = a.split("=", 2);
      opts.put(kv[0], kv.length > 1 ? kv[1] : "");
    }
    int subscribers = Integer.parseInt(opts.getOrDefault("subscribers", "1000"));
    int runs = Integer.parseInt(opts.getOrDefault("runs", "1"));
    int steps = Integer.parseInt(opts.getOrDefault("steps", "10"));
    int latencyMs = Integer.parseInt(opts.getOrDefault("latency-ms", "200"));
    int rounds = Integer.parseInt(opts.getOrDefault("rounds", "2"));
    // The simulated answer is 8-24 words plus an echo of the prompt, streamed word by word; max-tokens=1
    // cuts it to one delta per step.
    Integer maxTokens = opts.containsKey("max-tokens") ? Integer.valueOf(opts.get("max-tokens")) : null;

    Path dataDir = Files.createTempDirectory("orrery-bench");
    Persisted persisted = new Persisted();
    Map<String, Object> settings = new HashMap<>(Map.of(
        "orrery.http.port", 0,
        "pekko.remote.artery.canonical.port", 0, "pekko.management.http.port", 0,
        "pekko.loglevel", "WARNING",
        "orrery.llm.simulated.latency-ms", latencyMs,
        // Far more connections from one client than a person makes; the per-key limit is not measured.
        "orrery.auth.rate-limit.requests-per-minute", 1_000_000_000,
        // A paused run retries soon after its budget is lifted.
        "orrery.run.budget-retry-interval", "200ms"));
    opts.forEach((k, v) -> {
      if (k.startsWith("orrery.") || k.startsWith("pekko.")) settings.put(k, v);
    });
    OrreryNode node = OrreryNode.start(new OrreryNode.Options(
        DatabaseSettings.embedded(dataDir), OrreryNode.overrides(settings), persisted, Map.of()));
    ExecutorService clientThreads = Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "bench-client");
      t.setDaemon(true);
      return t;
    });
    HttpClient http = HttpClient.newBuilder().executor(clientThreads).connectTimeout(Duration.ofSeconds(10)).build();
    try {
      String key = node.mintedKeys().stream().filter(k -> k.tenantId().equals("demo")).findFirst().orElseThrow().key();
      Api api = new Api(http, node.baseUrl(), key);
      System.out.printf("Orrery stream latency: %d cores, %s%n", Runtime.getRuntime().availableProcessors(),
          node.databaseDescription());
      System.out.printf("subscribers=%d runs=%d steps/run=%d max-tokens=%s simulated provider at %d ms, %d round(s)%n",
          subscribers, runs, steps, maxTokens == null ? "-" : maxTokens, latencyMs, rounds);
      for (int round = 1; round <= rounds; round++) {
        Result r = round(api, http, persisted, subscribers, runs, workflow(steps, maxTokens));
        System.out.printf("round %d%s: connected %d subscribers in %.1f s%n", round,
            round < rounds ? " (warm-up)" : "", subscribers, r.connectNanos / 1e9);
        System.out.printf("  persisted -> delivered, events: %s%n", r.events.summary());
        System.out.printf("    of which the run's last event: %s%n", r.terminal.summary());
        System.out.printf("  provider -> delivered, token deltas: %s%n", r.deltas.summary());
        System.out.printf("  delivered %d messages in %.1f s: %.0f messages/s%n", r.delivered, r.deliveryNanos / 1e9,
            r.delivered / (r.deliveryNanos / 1e9));
      }
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      deleteRecursively(dataDir);
    }
    System.exit(0);
  }

  record Result(long connectNanos, Latencies events, Latencies deltas, Latencies terminal, long delivered,
      long deliveryNanos) {}

  private static Result round(Api api, HttpClient http, Persisted persisted, int subscribers, int runs,
      Map<String, Object> workflow) throws Exception {
    api.tokenLimit(1L);
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < runs; i++) runIds.add(api.submit(workflow));
    for (String runId : runIds) api.awaitEvent(runId, "BudgetExhausted");

    long t0 = System.nanoTime();
    List<Subscriber> all = new ArrayList<>();
    for (int opened = 0; opened < subscribers; opened += 50) {
      List<CompletableFuture<Subscriber>> opening = new ArrayList<>();
      for (int i = opened; i < Math.min(subscribers, opened + 50); i++) {
        opening.add(Subscriber.open(http, api, runIds.get(i % runs)));
      }
      for (var s : opening) all.add(s.get(60, TimeUnit.SECONDS));
    }
    // The last one's stream is live once it has its first message (the journal's RunAccepted).
    for (Subscriber s : all) s.first.get(60, TimeUnit.SECONDS);
    long connected = System.nanoTime() - t0;

    long released = System.nanoTime();
    api.tokenLimit(null);
    for (Subscriber s : all) s.done.get(300, TimeUnit.SECONDS);
    long lastDelivery = all.stream().mapToLong(s -> s.lastReceived).max().orElse(released);

    Latencies events = new Latencies();
    Latencies deltas = new Latencies();
    Latencies terminal = new Latencies();
    long delivered = 0;
    for (Subscriber s : all) {
      for (Received m : s.received) {
        if (m.at < released) continue; // came before the run went on (journal reads)
        delivered++;
        Long at = m.seq > 0 ? persisted.eventAt(s.runId, m.seq) : persisted.deltaAt(s.runId, m.deltaKey);
        if (at == null || at < released) continue;
        (m.seq > 0 ? events : deltas).add(m.at - at);
        if (m.seq > 0 && m.seq == persisted.lastSeq(s.runId)) terminal.add(m.at - at);
      }
    }
    persisted.forget(runIds);
    return new Result(connected, events, deltas, terminal, delivered, lastDelivery - released);
  }

  /** The node's side: when each event was persisted and each delta produced, by run. */
  static final class Persisted implements RunListener {
    private final Map<String, List<Long>> events = new ConcurrentHashMap<>();
    private final Map<String, Long> deltas = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> deltaCounts = new ConcurrentHashMap<>();

    @Override
    public void onPersisted(String tenantId, String runId, List<RunEvent> batch) {
      long now = System.nanoTime();
      // Called in journal order on the run's own thread: the list index is the sequence number - 1.
      List<Long> times = events.computeIfAbsent(runId, r -> java.util.Collections.synchronizedList(new ArrayList<>()));
      for (int i = 0; i < batch.size(); i++) times.add(now);
    }

    @Override
    public boolean wantsDeltas() {
      return true;
    }

    @Override
    public void onDelta(String tenantId, String runId, String nodeId, Integer item, int attempt, String text) {
      long now = System.nanoTime();
      String step = runId + "|" + nodeId + "|" + item + "|" + attempt;
      long n = deltaCounts.computeIfAbsent(step, k -> new AtomicLong()).incrementAndGet();
      deltas.put(step + "|" + n, now);
    }

    Long eventAt(String runId, long seq) {
      List<Long> times = events.get(runId);
      return times == null || seq > times.size() ? null : times.get((int) seq - 1);
    }

    long lastSeq(String runId) {
      List<Long> times = events.get(runId);
      return times == null ? -1 : times.size();
    }

    Long deltaAt(String runId, String deltaKey) {
      return deltas.get(runId + "|" + deltaKey);
    }

    void forget(List<String> runIds) {
      runIds.forEach(events::remove);
    }
  }

  record Received(long at, long seq, String deltaKey) {}

  /** One WebSocket client: records when each message arrived; parses it after the round. */
  static final class Subscriber implements WebSocket.Listener {
    final String runId;
    final List<Received> received = new ArrayList<>();
    final CompletableFuture<Void> first = new CompletableFuture<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final Map<String, Long> deltaCounts = new HashMap<>();
    final StringBuilder partial = new StringBuilder();
    volatile long lastReceived;

    private Subscriber(String runId) {
      this.runId = runId;
    }

    static CompletableFuture<Subscriber> open(HttpClient http, Api api, String runId) {
      Subscriber s = new Subscriber(runId);
      URI uri = URI.create(api.baseUrl.replaceFirst("^http", "ws") + "/api/v1/runs/" + runId
          + "/stream?from_seq=1&access_token=" + api.key);
      return http.newWebSocketBuilder().buildAsync(uri, s).thenApply(ws -> s);
    }

    @Override
    public void onOpen(WebSocket ws) {
      ws.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      long now = System.nanoTime();
      partial.append(data);
      if (last) {
        String text = partial.toString();
        partial.setLength(0);
        lastReceived = now;
        record(now, text);
        first.complete(null);
      }
      ws.request(1);
      return null;
    }

    /**
     * Picks the fields it needs out of the text without a JSON tree: the client shares the node's two cores,
     * and what it spends is not the node's latency. The node writes {@code seq} first, a delta's
     * {@code data} as {@code item}, {@code attempt}, {@code text}.
     */
    private void record(long now, String text) {
      if (text.startsWith("{\"seq\":")) {
        received.add(new Received(now, number(text, 7), null));
      } else if (text.startsWith("{\"type\":\"StepDelta\"")) {
        int node = text.indexOf("\"node_id\":\"") + 11;
        int data = text.indexOf("\"data\":{", node);
        int item = text.indexOf("\"item\":", data);
        int attempt = text.indexOf("\"attempt\":", data);
        String step = text.substring(node, text.indexOf('"', node)) + "|"
            + (item < 0 || item > attempt ? "null" : Long.toString(number(text, item + 7))) + "|"
            + number(text, attempt + 10);
        long n = deltaCounts.merge(step, 1L, Long::sum);
        received.add(new Received(now, 0, step + "|" + n));
      }
    }

    private static long number(String text, int from) {
      long n = 0;
      for (int i = from; i < text.length() && Character.isDigit(text.charAt(i)); i++) n = n * 10 + (text.charAt(i) - '0');
      return n;
    }

    @Override
    public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
      done.complete(null);
      return null;
    }

    @Override
    public void onError(WebSocket ws, Throwable error) {
      done.completeExceptionally(error);
    }
  }

  /** The HTTP API as a user's script calls it, with the demo tenant's admin key. */
  record Api(HttpClient http, String baseUrl, String key) {
    String submit(Map<String, Object> body) throws Exception {
      JsonNode r = send("POST", "/api/v1/runs", body, 201);
      return r.get("run_id").asText();
    }

    void tokenLimit(Long tokens) throws Exception {
      Map<String, Object> budget = new HashMap<>();
      budget.put("period", "daily");
      budget.put("token_limit", tokens);
      send("POST", "/api/v1/budgets", budget, 200);
    }

    void awaitEvent(String runId, String type) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (System.nanoTime() < deadline) {
        for (JsonNode e : send("GET", "/api/v1/runs/" + runId + "/journal", null, 200).get("events")) {
          if (type.equals(e.path("type").asText())) return;
        }
        // A benchmark's driver, not a test: a short pause between polls of the journal.
        Thread.sleep(50);
      }
      throw new IllegalStateException("run " + runId + " did not reach " + type + " in 60 s");
    }

    private JsonNode send(String method, String path, Object body, int expected) throws Exception {
      var request = HttpRequest.newBuilder(URI.create(baseUrl + path)).header("Authorization", "Bearer " + key)
          .timeout(Duration.ofSeconds(30));
      if (body == null) {
        request.method(method, HttpRequest.BodyPublishers.noBody());
      } else {
        request.header("Content-Type", "application/json")
            .method(method, HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)));
      }
      HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != expected) {
        throw new IllegalStateException(method + " " + path + " answered " + r.statusCode() + ": " + r.body());
      }
      return JSON.readTree(r.body());
    }
  }

  /** A chain of LLM steps that pauses (instead of failing) while its tenant's budget does not allow a call. */
  static Map<String, Object> workflow(int steps, Integer maxTokens) {
    List<Map<String, Object>> nodes = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      Map<String, Object> node = new HashMap<>(Map.of("id", "s" + i, "type", "llm",
          "prompt", i == 0 ? "Open the story of {{inputs.topic}}" : "Continue: {{s" + (i - 1) + ".output}}"));
      if (maxTokens != null) node.put("max_tokens", maxTokens);
      nodes.add(node);
    }
    return Map.of(
        "workflow", Map.of("name", "stream_bench", "version", 1,
            "inputs", Map.of("topic", Map.of("type", "string")),
            "policy", Map.of("on_budget_exhausted", "pause"), "nodes", nodes),
        "inputs", Map.of("topic", "orbits"));
  }

  static final class Latencies {
    private long[] nanos = new long[1024];
    private int size;

    void add(long n) {
      if (size == nanos.length) nanos = Arrays.copyOf(nanos, size * 2);
      nanos[size++] = n;
    }

    String summary() {
      if (size == 0) return "no samples";
      long[] sorted = Arrays.copyOf(nanos, size);
      Arrays.sort(sorted);
      return String.format("%d samples, p50 %.1f ms, p99 %.1f ms, max %.1f ms", size, at(sorted, 0.50) / 1e6,
          at(sorted, 0.99) / 1e6, sorted[size - 1] / 1e6);
    }

    private static long at(long[] sorted, double p) {
      int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
      return sorted[i];
    }
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
