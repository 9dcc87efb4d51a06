#!/usr/bin/env bash
# Live stream fan-out: the time from an event's persistence to its delivery to each of N WebSocket
# subscribers (p50/p99/max), and messages delivered per second, on one node started in-process with its
# durable embedded PostgreSQL; the subscribers run in a JVM of their own (clients=node: in Node.js with
# the ws package, needs node and npm; clients=jvm: in the node's).
# Arguments pass through (subscribers=1000 runs=1 steps=10 latency-ms=200 rounds=6 warmup=2
# clients=process|node|jvm, and any orrery.* or pekko.* setting).
set -euo pipefail
cd "$(dirname "$0")/.."
# Builds in the reactor (nothing installed): the benchmark runs on this checkout's modules.
mvn -q -B -pl bench -am -DskipTests package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
# The JVM's default collector (G1), as `orrery serve` runs: a latency figure, unlike the throughput
# benchmarks, which take the parallel collector.
exec java -Xmx4g -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.orrery.bench.StreamLatencyBench "$@"
