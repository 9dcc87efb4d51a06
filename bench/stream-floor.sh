#!/usr/bin/env bash
# The floor under the live stream benchmark (stream-latency.sh): bare pekko-http WebSockets, one prebuilt
# text message sent to every connection, the same subscribers in a JVM of their own. What it reaches on a
# machine bounds what the node's live stream can reach there. Arguments pass through (subscribers=1000
# steps=10 latency-ms=200 rounds=6 warmup=2 fanout=actors|hub).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -pl bench -am -DskipTests package dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
# The same JVM settings as stream-latency.sh gives the node.
exec java -Xmx4g -Djava.util.concurrent.ForkJoinPool.common.parallelism=2 \
  -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.orrery.bench.StreamFloorBench "$@"
