#!/usr/bin/env bash
# Builds the node and measures recovery after kill -9 of one of three node processes with runs in flight;
# arguments go to the benchmark (runs=1000 steps=40 latency-ms=3000 profiles=name:pause:stable-after[:margin[:heartbeat[:sbr-only]]],...;
# the default profiles are in bench/src/main/java/dev/orrery/bench/NodeLossBench.java).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -DskipTests install
mvn -q -B -pl bench dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
exec java -Xmx1g -cp "bench/target/classes:$(cat bench/target/classpath.txt)" dev.orrery.bench.NodeLossBench "$@"
