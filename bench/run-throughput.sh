#!/usr/bin/env bash
# Builds the node and runs the run-throughput benchmark in a JVM of its own; arguments go to it
# (runs=20000 concurrency=1000 steps=10 shape=chain|wide warmup=2000).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests install
mvn -q -B -pl bench dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec java -Xmx4g -XX:+UseParallelGC -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.orrery.bench.RunThroughputBench "$@"
