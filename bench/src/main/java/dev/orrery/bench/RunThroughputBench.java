package dev.orrery.bench;

import dev.orrery.cluster.OrreryNode;
import dev.orrery.cluster.db.DatabaseSettings;
import dev.orrery.core.run.RunEntity;
import dev.orrery.core.run.RunEvent;
import dev.orrery.core.run.RunIds;
import dev.orrery.core.workflow.NodeSpec;
import dev.orrery.core.workflow.Policy;
import dev.orrery.core.workflow.RetryPolicy;
import dev.orrery.core.workflow.WorkflowSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

/**
 * N runs in flight, M steps each, against the simulated provider at zero latency, on the embedded
 * PostgreSQL with its durable settings (fsync and synchronous_commit on). Closed loop: a run is
 * submitted whenever one finishes. Prints completed steps/s, persisted events/s and the time from
 * submit to completion (p50/p99).
 *
 * <p>Arguments (all optional): {@code runs=20000 concurrency=1000 steps=10 shape=chain|wide warmup=2000
 * traces=off|on}, and any {@code orrery.*}, {@code pekko.*} or {@code jdbc-*} setting to compare.
 * {@code traces=on} exports every run's spans over OTLP to a sink on loopback (which only counts them).
 * {@code chain}: each step uses the previous one's output; {@code wide}: the steps of a run are
 * independent and run side by side.
 */
public final class RunThroughputBench {
  /** The tenant a first start creates: every LLM call reserves from its (unlimited) budget, as a user's would. */
  private static final String TENANT = "demo";

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = BenchArgs.parse(args);
    int runs = Integer.parseInt(opts.getOrDefault("runs", "20000"));
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "1000"));
    int steps = Integer.parseInt(opts.getOrDefault("steps", "10"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "2000"));
    String shape = opts.getOrDefault("shape", "chain");

    Path dataDir = Files.createTempDirectory("orrery-bench");
    var completions = new LinkedBlockingQueue<String>();
    var events = new LongAdder();
    var failed = new AtomicLong();
    Map<String, Object> settings = new java.util.HashMap<>(Map.of(
        "orrery.http.port", 0,
        "pekko.remote.artery.canonical.port", 0, "pekko.management.http.port", 0,
        "pekko.loglevel", "WARNING",
        "orrery.llm.simulated.latency-ms", 0));
    opts.forEach((k, v) -> {
      if (k.startsWith("orrery.") || k.startsWith("pekko.") || k.startsWith("jdbc-")) settings.put(k, v);
    });
    OtlpSink sink = "on".equals(opts.get("traces")) ? new OtlpSink() : null;
    if (sink != null) settings.put("orrery.tracing.otlp-endpoint", sink.endpoint());
    OrreryNode node = OrreryNode.start(new OrreryNode.Options(
        DatabaseSettings.embedded(dataDir),
        OrreryNode.overrides(settings),
        (tenant, runId, batch) -> {
          events.add(batch.size());
          RunEvent last = batch.get(batch.size() - 1);
          if (last instanceof RunEvent.RunCompleted) completions.add(runId);
          if (last instanceof RunEvent.RunFailed || last instanceof RunEvent.RunCancelled) {
            failed.incrementAndGet();
            completions.add(runId);
          }
        },
        Map.of()));
    try {
      WorkflowSpec spec = workflow(shape, steps);
      System.out.printf("Orrery run throughput: %d cores, %s, simulated provider at 0 ms%n",
          Runtime.getRuntime().availableProcessors(), node.databaseDescription());
      System.out.printf("shape=%s steps/run=%d concurrency=%d runs=%d (+%d warm-up)%n",
          shape, steps, concurrency, runs, warmup);
      drive(node, spec, warmup, concurrency, completions, events, failed);
      Result r = drive(node, spec, runs, concurrency, completions, events, failed);
      double seconds = r.elapsed.toNanos() / 1e9;
      System.out.printf("completed runs: %d in %.1f s (%d failed)%n", runs, seconds, r.failed);
      System.out.printf("steps/s: %.0f%n", runs * (double) steps / seconds);
      System.out.printf("persisted events/s: %.0f (%.1f events per run)%n", r.events / seconds,
          r.events / (double) runs);
      System.out.printf("runs/s: %.0f%n", runs / seconds);
      System.out.printf("submit -> completed: p50 %.1f ms, p99 %.1f ms, max %.1f ms%n",
          r.percentile(0.50), r.percentile(0.99), r.percentile(1.0));
      System.out.printf("metrics: %s, traces: %s%n", settings.getOrDefault("orrery.metrics.enabled", "on"),
          sink == null ? "off" : "on (" + sink.batches.sum() + " OTLP batches, " + sink.bytes.sum() / 1024 + " KiB so far)");
    } finally {
      node.stop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      if (sink != null) sink.close();
      deleteRecursively(dataDir);
    }
  }

  record Result(Duration elapsed, long events, long failed, long[] latenciesNanos) {
    double percentile(double p) {
      long[] sorted = latenciesNanos.clone();
      Arrays.sort(sorted);
      int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
      return sorted[i] / 1e6;
    }
  }

  private static Result drive(OrreryNode node, WorkflowSpec spec, int runs, int concurrency,
      LinkedBlockingQueue<String> completions, LongAdder events, AtomicLong failed) throws InterruptedException {
    if (runs == 0) return new Result(Duration.ZERO, 0, 0, new long[0]);
    completions.clear();
    ClusterSharding sharding = ClusterSharding.get(node.system());
    Map<String, Long> startedAt = new ConcurrentHashMap<>();
    long[] latencies = new long[runs];
    long eventsBefore = events.sum();
    long failedBefore = failed.get();
    long t0 = System.nanoTime();
    int submitted = 0;
    int done = 0;
    for (; submitted < Math.min(concurrency, runs); submitted++) submit(sharding, spec, startedAt);
    while (done < runs) {
      String runId = completions.poll(120, TimeUnit.SECONDS);
      if (runId == null) throw new IllegalStateException("no run finished for 120 s; " + done + " done");
      Long start = startedAt.remove(runId);
      if (start == null) continue;
      latencies[done++] = System.nanoTime() - start;
      if (submitted < runs) {
        submit(sharding, spec, startedAt);
        submitted++;
      }
    }
    return new Result(Duration.ofNanos(System.nanoTime() - t0), events.sum() - eventsBefore,
        failed.get() - failedBefore, latencies);
  }

  private static void submit(ClusterSharding sharding, WorkflowSpec spec, Map<String, Long> startedAt) {
    String runId = RunIds.newRunId();
    startedAt.put(runId, System.nanoTime());
    sharding.entityRefFor(RunEntity.KEY, RunIds.entityId(TENANT, runId))
        .<RunEntity.Started>askWithStatus(
            replyTo -> new RunEntity.Start(spec, Map.of("topic", "orbits"), null, "bench", replyTo),
            Duration.ofSeconds(60))
        .whenComplete((ok, err) -> {
          if (err != null) System.err.println("submit of " + runId + " failed: " + err);
        });
  }

  static WorkflowSpec workflow(String shape, int steps) {
    List<NodeSpec> nodes = new ArrayList<>();
    for (int i = 0; i < steps; i++) {
      String prompt = "chain".equals(shape) && i > 0
          ? "Step " + i + " continues: {{s" + (i - 1) + ".output}}"
          : "Step " + i + " about {{inputs.topic}}";
      nodes.add(NodeSpec.llm("s" + i, prompt));
    }
    var policy = new Policy(Math.max(steps, 1), null, Policy.ON_BUDGET_FAIL, 600_000, 60_000,
        RetryPolicy.defaults());
    return new WorkflowSpec("bench_" + shape, 1, null,
        Map.of("topic", dev.orrery.core.workflow.InputSpec.of("string")), policy, nodes);
  }

  private static void deleteRecursively(Path dir) throws java.io.IOException {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
