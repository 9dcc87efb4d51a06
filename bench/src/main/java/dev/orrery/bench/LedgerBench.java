package dev.orrery.bench;

import dev.orrery.cluster.OrreryNode;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.core.port.BudgetPort;
import dev.orrery.core.port.CallEstimate;
import dev.orrery.core.port.Usage;
import dev.orrery.ledger.tenant.BudgetPeriod;
import dev.orrery.ledger.tenant.TenantEntity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Reservations per second through the budget ledger of one node on its durable embedded PostgreSQL: a
 * closed loop of {@code concurrency} calls, each reserving an estimate and then settling its usage, as
 * every LLM call does. Every tenant has a monthly budget, so each reservation is a persisted hold and each
 * settlement a persisted charge (two events per call). {@code tenants=1} is one hot tenant; more spread
 * the calls evenly.
 *
 * <p>Arguments as {@code key=value}: {@code tenants} (1), {@code concurrency} (1000), {@code seconds} (15),
 * {@code warmup} (5), and any {@code orrery.*} or {@code pekko.*} setting to compare.
 */
public final class LedgerBench {
  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchArgs.parse(args);
    int tenants = Integer.parseInt(opts.getOrDefault("tenants", "1"));
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "1000"));
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "15"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "5"));

    Map<String, Object> settings = new HashMap<>(Map.of("orrery.http.port", 0,
        "pekko.remote.artery.canonical.port", 0, "pekko.management.http.port", 0, "pekko.loglevel", "WARNING"));
    opts.forEach((k, v) -> {
      if (k.startsWith("orrery.") || k.startsWith("pekko.")) settings.put(k, v); // settings to compare
    });
    Path dataDir = Files.createTempDirectory("orrery-ledger-bench");
    OrreryNode node = OrreryNode.start(new OrreryNode.Options(DatabaseSettings.embedded(dataDir),
        OrreryNode.overrides(settings), null, Map.of()));
    try {
      for (int t = 0; t < tenants; t++) {
        String id = "bench-" + t;
        node.tenants().create(id, id, null).toCompletableFuture().get(30, TimeUnit.SECONDS);
        node.tenants().<TenantEntity.BudgetStatus>ask(id, r -> new TenantEntity.SetBudget(BudgetPeriod.MONTHLY,
            1_000_000_000_000L, null, r)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      System.out.printf("Orrery budget ledger: %d cores, %s, %d tenant(s), %d calls in flight%n",
          Runtime.getRuntime().availableProcessors(), node.databaseDescription(), tenants, concurrency);
      Loop loop = new Loop(node.budgets(), tenants);
      for (int i = 0; i < concurrency; i++) loop.next();
      Thread.sleep(warmup * 1000L); // a benchmark's warm-up, not a test's synchronisation
      long reservedBefore = loop.reserved.sum();
      long settledBefore = loop.settled.sum();
      loop.recording.set(true);
      long t0 = System.nanoTime();
      Thread.sleep(seconds * 1000L);
      double elapsed = (System.nanoTime() - t0) / 1e9;
      loop.recording.set(false);
      long reserved = loop.reserved.sum() - reservedBefore;
      long settled = loop.settled.sum() - settledBefore;
      loop.stop.set(true);
      System.out.printf("reservations/s: %.0f   settlements/s: %.0f   (failed: %d)%n", reserved / elapsed,
          settled / elapsed, loop.failed.get());
      System.out.printf("reserve latency: p50 %.2f ms, p99 %.2f ms%n", loop.percentile(0.50), loop.percentile(0.99));
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      try (var paths = Files.walk(dataDir)) {
        paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Keeps a call going per slot: reserve, settle, the next one. */
  private static final class Loop {
    private final BudgetPort budgets;
    private final int tenants;
    final LongAdder reserved = new LongAdder();
    final LongAdder settled = new LongAdder();
    final AtomicLong failed = new AtomicLong();
    final AtomicBoolean recording = new AtomicBoolean();
    final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong ids = new AtomicLong();
    private final long[] latencies = new long[2_000_000];
    private final AtomicLong recorded = new AtomicLong();

    Loop(BudgetPort budgets, int tenants) {
      this.budgets = budgets;
      this.tenants = tenants;
    }

    void next() {
      if (stop.get()) return;
      long n = ids.incrementAndGet();
      var r = new BudgetPort.Reservation("bench-" + (n % tenants), "call-" + n, "run-" + (n / 10), "node",
          new CallEstimate(1_100, 2_000));
      long start = System.nanoTime();
      budgets.reserve(r).thenCompose(ok -> {
        reserved.increment();
        if (recording.get()) {
          long i = recorded.getAndIncrement();
          if (i < latencies.length) latencies[(int) i] = System.nanoTime() - start;
        }
        return budgets.settle(r, new Usage(100, 300, 500), "sim", "sim-small");
      }).whenComplete((ok, error) -> {
        if (error != null) failed.incrementAndGet(); else settled.increment();
        next();
      });
    }

    double percentile(double p) {
      int n = (int) Math.min(recorded.get(), latencies.length);
      if (n == 0) return Double.NaN;
      long[] sorted = Arrays.copyOf(latencies, n);
      Arrays.sort(sorted);
      return sorted[(int) Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))] / 1e6;
    }
  }
}
