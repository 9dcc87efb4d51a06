#!/usr/bin/env bash
# Budget ledger throughput: reservations/s (each followed by its settlement) for one hot tenant and for
# 100 tenants, on one node with its durable embedded PostgreSQL. Arguments pass through
# (concurrency=, seconds=, warmup=).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests install
mvn -q -B -pl bench dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
run() {
  java -Xmx2g -XX:+UseParallelGC -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 \
    -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.orrery.bench.LedgerBench "$@"
}
run tenants=1 "$@"
run tenants=100 "$@"
