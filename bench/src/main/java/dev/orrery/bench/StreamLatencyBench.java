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
 * run publishes it) to its arrival at each subscriber (both on {@code System.nanoTime}, the machine's
 * monotonic clock, also when the clients run in a JVM of their own): p50/p99/max over every (event,
 * subscriber) pair, the same for the token deltas (from the provider's piece of text to the
 * subscriber), and messages delivered per second.
 *
 * <p>The runs wait for budget (their tenant may spend one token; the policy pauses) until every subscriber
 * is connected, so the figures are of live delivery, not of the journal reads that start each stream.
 *
 * <p>Arguments (all optional): {@code subscribers=1000 runs=1 steps=10 latency-ms=200 rounds=6 warmup=2}
 * (each round is printed, and the rounds after the warm-up ones together), {@code settle-s=0} (only events
 * persisted this many seconds after the release count: the steady state of connected subscribers),
 * {@code clients=process} (the subscribers in a JVM of their own, {@link ClientMain}), {@code clients=node}
 * (in Node.js with the {@code ws} package: needs node and npm) or {@code clients=jvm} (in this one), and
 * any {@code orrery.*} or {@code pekko.*} setting to compare.
 */
public final class StreamLatencyBench {
  private static final ObjectMapper JSON = new ObjectMapper();

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchArgs.parse(args);
    int subscribers = Integer.parseInt(opts.getOrDefault("subscribers", "1000"));
    int runs = Integer.parseInt(opts.getOrDefault("runs", "1"));
    int steps = Integer.parseInt(opts.getOrDefault("steps", "10"));
    int latencyMs = Integer.parseInt(opts.getOrDefault("latency-ms", "200"));
    int rounds = Integer.parseInt(opts.getOrDefault("rounds", "6"));
    int warmup = Math.min(rounds - 1, Integer.parseInt(opts.getOrDefault("warmup", "2")));
    // Only what was persisted this long after the release counts: the steady state of subscribers that are
    // connected, after the collections that move their new connections' state out of the young generation.
    long settleNanos = (long) (Double.parseDouble(opts.getOrDefault("settle-s", "0")) * 1e9);
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
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    try {
      String key = node.mintedKeys().stream().filter(k -> k.tenantId().equals("demo")).findFirst().orElseThrow().key();
      Api api = new Api(http, node.baseUrl(), key);
      Clients clients = Clients.of(opts.getOrDefault("clients", "process"));
      System.out.printf("Orrery stream latency: %d cores, %s%n", Runtime.getRuntime().availableProcessors(),
          node.databaseDescription());
      System.out.printf("subscribers=%d runs=%d steps/run=%d max-tokens=%s simulated provider at %d ms, %d round(s),"
          + " clients in %s%n", subscribers, runs, steps, maxTokens == null ? "-" : maxTokens, latencyMs, rounds,
          clients.where());
      Latencies events = new Latencies();
      Latencies terminal = new Latencies();
      Latencies deltas = new Latencies();
      for (int round = 1; round <= rounds; round++) {
        Result r = round(api, clients, persisted, subscribers, runs, workflow(steps, maxTokens), settleNanos);
        boolean warmUp = round <= warmup;
        System.out.printf("round %d%s: connected %d subscribers in %.1f s%n", round, warmUp ? " (warm-up)" : "",
            subscribers, r.connectNanos / 1e9);
        print(r.events, r.terminal, r.deltas);
        System.out.printf("  slowest event, %s%n", r.slowest);
        System.out.printf("  delivered %d messages in %.1f s: %.0f messages/s%n", r.delivered, r.deliveryNanos / 1e9,
            r.delivered / (r.deliveryNanos / 1e9));
        if (!warmUp) {
          events.addAll(r.events);
          terminal.addAll(r.terminal);
          deltas.addAll(r.deltas);
        }
      }
      System.out.printf("rounds %d-%d together:%n", warmup + 1, rounds);
      print(events, terminal, deltas);
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      deleteRecursively(dataDir);
    }
    System.exit(0);
  }

  private static void print(Latencies events, Latencies terminal, Latencies deltas) {
    System.out.printf("  persisted -> delivered, events: %s%n", events.summary());
    System.out.printf("    of which the run's last event: %s%n", terminal.summary());
    System.out.printf("  provider -> delivered, token deltas: %s%n", deltas.summary());
  }

  /**
   * @param slowest the event whose last delivery came latest after its persistence: its first and last
   *     delivery tell a stall before the fan-out (both late) from a slow fan-out (the first on time)
   */
  record Result(long connectNanos, Latencies events, Latencies deltas, Latencies terminal, long delivered,
      long deliveryNanos, String slowest) {}

  private static Result round(Api api, Clients clients, Persisted persisted, int subscribers, int runs,
      Map<String, Object> workflow, long settleNanos) throws Exception {
    api.tokenLimit(1L);
    List<String> runIds = new ArrayList<>();
    for (int i = 0; i < runs; i++) runIds.add(api.submit(workflow));
    for (String runId : runIds) api.awaitEvent(runId, "BudgetExhausted");

    List<String> followed = new ArrayList<>();
    for (int i = 0; i < subscribers; i++) followed.add(runIds.get(i % runs));
    long t0 = System.nanoTime();
    clients.open(api.baseUrl, api.key, followed);
    long connected = System.nanoTime() - t0;

    long released = System.nanoTime();
    api.tokenLimit(null);
    List<Received> receipts = clients.awaitEnd();
    long lastDelivery = receipts.stream().mapToLong(Received::at).max().orElse(released);
    Latencies events = new Latencies();
    Latencies deltas = new Latencies();
    Latencies terminal = new Latencies();
    long delivered = 0;
    Map<String, long[]> perEvent = new HashMap<>(); // run and seq -> first and last delivery after persistence
    for (Received m : receipts) {
      if (m.at < released) continue; // came before the run went on (journal reads)
      delivered++;
      Long at = m.seq > 0 ? persisted.eventAt(m.runId, m.seq) : persisted.deltaAt(m.runId, m.deltaKey);
      if (at == null || at < released + settleNanos) continue;
      (m.seq > 0 ? events : deltas).add(m.at - at);
      if (m.seq > 0 && m.seq == persisted.lastSeq(m.runId)) terminal.add(m.at - at);
      if (m.seq > 0) {
        long[] firstLast = perEvent.computeIfAbsent(m.runId + " seq " + m.seq, k -> new long[] {Long.MAX_VALUE, 0, at});
        firstLast[0] = Math.min(firstLast[0], m.at - at);
        firstLast[1] = Math.max(firstLast[1], m.at - at);
      }
    }
    persisted.forget(runIds);
    // The node's JVM uptime at the persistence, to find the moment in a GC log (-Xlog:gc:...:uptime).
    long uptimeNowMs = java.lang.management.ManagementFactory.getRuntimeMXBean().getUptime();
    long nowNanos = System.nanoTime();
    String slowest = perEvent.entrySet().stream().max(java.util.Comparator.comparingLong(e -> e.getValue()[1]))
        .map(e -> String.format("seq %s: first delivery %.1f ms, last %.1f ms after persistence (at uptime %.3f s)",
            e.getKey().substring(e.getKey().lastIndexOf(' ') + 1), e.getValue()[0] / 1e6, e.getValue()[1] / 1e6,
            (uptimeNowMs - (nowNanos - e.getValue()[2]) / 1e6) / 1e3))
        .orElse("none");
    return new Result(connected, events, deltas, terminal, delivered, lastDelivery - released, slowest);
  }

  /**
   * Where the subscribers run. In a JVM of their own by default, as real clients are elsewhere: in the
   * node's JVM their garbage is collected in the node's pauses, which every delivery in flight then waits
   * for. Both share the machine's cores either way.
   */
  interface Clients {
    /** {@code process} (a JVM of their own, the default), {@code node} (Node.js) or {@code jvm} (this one). */
    static Clients of(String kind) throws Exception {
      return switch (kind) {
        case "jvm" -> new InProcess();
        case "node" -> OwnProcess.node();
        default -> OwnProcess.jvm();
      };
    }

    /** Where the subscribers run, as the benchmarks print it. */
    String where();

    /** Opens a WebSocket per entry of {@code runIds}, and returns once each has its first message. */
    void open(String baseUrl, String key, List<String> runIds) throws Exception;

    /** Waits until every stream has ended, and returns what they received. */
    List<Received> awaitEnd() throws Exception;
  }

  /**
   * Subscribers in this JVM, spread over several HTTP clients: each JDK client reads all its sockets on
   * one selector thread, which for 1,000 connections would be a queue no set of real clients has.
   */
  static final class InProcess implements Clients {
    private static final int SELECTORS = 8;
    private final List<HttpClient> https = new ArrayList<>();
    private final List<Subscriber> open = new ArrayList<>();

    InProcess() {
      ExecutorService threads = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "bench-client");
        t.setDaemon(true);
        return t;
      });
      for (int i = 0; i < SELECTORS; i++) {
        https.add(HttpClient.newBuilder().executor(threads).connectTimeout(Duration.ofSeconds(10)).build());
      }
    }

    @Override
    public String where() {
      return "the node's JVM";
    }

    @Override
    public void open(String baseUrl, String key, List<String> runIds) throws Exception {
      for (int opened = 0; opened < runIds.size(); opened += 50) {
        List<CompletableFuture<Subscriber>> opening = new ArrayList<>();
        for (int i = opened; i < Math.min(runIds.size(), opened + 50); i++) {
          opening.add(Subscriber.open(https.get(i % https.size()), baseUrl, key, runIds.get(i)));
        }
        for (var s : opening) open.add(s.get(60, TimeUnit.SECONDS));
      }
      // A stream is live once it has its first message (the journal's RunAccepted).
      for (Subscriber s : open) s.first.get(60, TimeUnit.SECONDS);
    }

    @Override
    public List<Received> awaitEnd() throws Exception {
      List<Received> all = new ArrayList<>();
      for (Subscriber s : open) {
        s.done.get(300, TimeUnit.SECONDS);
        all.addAll(s.received);
      }
      open.clear();
      return all;
    }
  }

  /**
   * Subscribers in a JVM of their own ({@link ClientMain}), driven over its standard input and output.
   * Both JVMs read {@code System.nanoTime}, the machine's monotonic clock on Linux, so arrival times compare
   * with the node's persistence times.
   */
  static final class OwnProcess implements Clients {
    private final Process process;
    private final java.io.PrintWriter commands;
    private final java.io.BufferedReader answers;
    private final String where;

    /** The JDK's WebSocket clients ({@link ClientMain}) in a JVM of their own. */
    static OwnProcess jvm() throws java.io.IOException {
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      return new OwnProcess(new ProcessBuilder(java, "-Xmx1g", "-cp", System.getProperty("java.class.path"),
          ClientMain.class.getName()), "a JVM of their own");
    }

    /**
     * Node.js with the {@code ws} package ({@code stream-latency/clients.js}, installed with npm into a
     * temporary directory): the same protocol as {@link ClientMain}, and a lighter client on the same cores.
     */
    static OwnProcess node() throws Exception {
      Path dir = Files.createTempDirectory("orrery-bench-clients");
      for (String file : List.of("package.json", "clients.js")) {
        try (var in = StreamLatencyBench.class.getResourceAsStream("/stream-latency/" + file)) {
          Files.copy(in, dir.resolve(file));
        }
      }
      Process npm = new ProcessBuilder("npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
          .directory(dir.toFile()).inheritIO().start();
      if (npm.waitFor() != 0) throw new IllegalStateException("npm install of the Node.js clients failed");
      return new OwnProcess(new ProcessBuilder("node", "clients.js").directory(dir.toFile()), "Node.js (ws)");
    }

    private OwnProcess(ProcessBuilder command, String where) throws java.io.IOException {
      this.where = where;
      process = command.redirectError(ProcessBuilder.Redirect.INHERIT).start();
      commands = new java.io.PrintWriter(process.getOutputStream(), true);
      answers = new java.io.BufferedReader(new java.io.InputStreamReader(process.getInputStream()));
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroy));
    }

    @Override
    public String where() {
      return where;
    }

    @Override
    public void open(String baseUrl, String key, List<String> runIds) throws Exception {
      commands.println("open " + baseUrl + " " + key + " " + String.join(",", runIds));
      expect("connected");
    }

    @Override
    public List<Received> awaitEnd() throws Exception {
      commands.println("end");
      Path file = Path.of(expect("ended ").substring("ended ".length()));
      List<Received> all = new ArrayList<>();
      for (String line : Files.readAllLines(file)) all.add(Received.parse(line));
      Files.delete(file);
      return all;
    }

    private String expect(String prefix) throws java.io.IOException {
      String line = answers.readLine();
      if (line == null || !line.startsWith(prefix)) {
        throw new IllegalStateException("the clients' JVM answered " + line + " instead of " + prefix);
      }
      return line;
    }
  }

  /** The clients' JVM: {@code open URL KEY RUN,RUN,...}, then {@code end}; answers on standard output. */
  public static final class ClientMain {
    public static void main(String[] args) throws Exception {
      InProcess clients = new InProcess();
      var in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        if (line.startsWith("open ")) {
          String[] f = line.split(" ");
          clients.open(f[1], f[2], List.of(f[3].split(",")));
          System.out.println("connected");
        } else if (line.equals("end")) {
          Path file = Files.createTempFile("orrery-bench-receipts", ".txt");
          try (var w = Files.newBufferedWriter(file)) {
            for (Received r : clients.awaitEnd()) {
              w.write(r.line());
              w.newLine();
            }
          }
          System.out.println("ended " + file);
        }
      }
      System.exit(0);
    }
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

  /** One message at one subscriber: when it arrived, and which event ({@code seq}) or delta it was. */
  record Received(String runId, long at, long seq, String deltaKey) {
    String line() {
      return runId + " " + at + " " + seq + " " + (deltaKey == null ? "-" : deltaKey);
    }

    static Received parse(String line) {
      String[] f = line.split(" ");
      return new Received(f[0], Long.parseLong(f[1]), Long.parseLong(f[2]), f[3].equals("-") ? null : f[3]);
    }
  }

  /** One WebSocket client: records when each message arrived; parses it after the round. */
  static final class Subscriber implements WebSocket.Listener {
    final String runId;
    final List<Received> received = new ArrayList<>();
    final CompletableFuture<Void> first = new CompletableFuture<>();
    final CompletableFuture<Void> done = new CompletableFuture<>();
    final Map<String, Long> deltaCounts = new HashMap<>();
    final StringBuilder partial = new StringBuilder();

    private Subscriber(String runId) {
      this.runId = runId;
    }

    static CompletableFuture<Subscriber> open(HttpClient http, String baseUrl, String key, String runId) {
      Subscriber s = new Subscriber(runId);
      URI uri = URI.create(baseUrl.replaceFirst("^http", "ws") + "/api/v1/runs/" + runId
          + "/stream?from_seq=1&access_token=" + key);
      return http.newWebSocketBuilder().buildAsync(uri, s).thenApply(ws -> s);
    }

    @Override
    public void onOpen(WebSocket ws) {
      ws.request(1);
    }

    @Override
    public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
      long now = System.nanoTime();
      if (!last) {
        partial.append(data);
      } else {
        String text = partial.length() == 0 ? data.toString() : partial.append(data).toString();
        partial.setLength(0);
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
        received.add(new Received(runId, now, number(text, 7), null));
      } else if (text.startsWith("{\"type\":\"StepDelta\"")) {
        int node = text.indexOf("\"node_id\":\"") + 11;
        int data = text.indexOf("\"data\":{", node);
        int item = text.indexOf("\"item\":", data);
        int attempt = text.indexOf("\"attempt\":", data);
        String step = text.substring(node, text.indexOf('"', node)) + "|"
            + (item < 0 || item > attempt ? "null" : Long.toString(number(text, item + 7))) + "|"
            + number(text, attempt + 10);
        long n = deltaCounts.merge(step, 1L, Long::sum);
        received.add(new Received(runId, now, 0, step + "|" + n));
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

    void addAll(Latencies other) {
      for (int i = 0; i < other.size; i++) add(other.nanos[i]);
    }

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
