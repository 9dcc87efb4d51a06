#!/usr/bin/env bash
# Router overhead: the OpenAI-compatible gateway of an Orrery node and the Portkey AI gateway, each in
# front of the same fake upstream (a process of its own on loopback), against calling the upstream
# directly. wrk drives closed loops of non-streaming chat completions:
#   1 connection at 0 ms upstream latency (p50/p99 added by the gateway),
#   32 connections at 0 ms (maximum requests/s),
#   256 connections at 200 ms (throughput as a share of direct).
# At 32 connections it also measures the floor: a bare pekko-http proxy (FloorProxyMain), the most any
# gateway on the same HTTP stack can reach on the machine.
# Needs wrk (Debian package) and, for the Portkey column, node and npm. DURATION=30s and WARMUP=60s by
# default; each row is measured after a warm-up run against the same target. (On 2 cores under load the
# JVM reaches its steady rate after about a minute, and a 10 s row at 256 connections charged about 7 %
# of its time to accepting 256 new connections, which clients that keep theirs pay once.)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-60s}
HERE=bench/src/main/resources/router-overhead
JAVA_OPTS="-Xmx1g -XX:+UseParallelGC -Djava.util.concurrent.ForkJoinPool.common.parallelism=2"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }

mvn -q -B -DskipTests install
mvn -q -B -pl bench dependency:build-classpath -Dmdep.outputFile=target/classpath.txt
CLASSPATH_BENCH="bench/target/classes:$(cat bench/target/classpath.txt)"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for() { # file text seconds
  for _ in $(seq 1 "$3"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 1; done
  echo "timed out waiting for '$2' in $1"; cat "$1"; exit 1
}
stop_all() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

HAVE_PORTKEY=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  mkdir -p "$WORK/portkey" && cp "$HERE/package.json" "$HERE/loopback.cjs" "$WORK/portkey/"
  (cd "$WORK/portkey" && npm install --no-audit --no-fund --loglevel=error >/dev/null) && HAVE_PORTKEY=1
fi

start_stack() { # upstream latency in ms
  local up_log="$WORK/upstream-$1.log" node_log="$WORK/orrery-$1.log" pk_log="$WORK/portkey-$1.log"
  java $JAVA_OPTS -cp "$CLASSPATH_BENCH" dev.orrery.bench.FakeUpstreamMain "$1" >"$up_log" 2>&1 &
  PIDS+=($!)
  wait_for "$up_log" "UPSTREAM" 60
  UPSTREAM_PORT=$(sed -n 's/^UPSTREAM \([0-9]*\).*/\1/p' "$up_log")
  export UPSTREAM_V1="http://127.0.0.1:$UPSTREAM_PORT/v1"
  ORRERY_PORT=$(free_port)
  # The per-key request limit (100/min by default) would be the only thing measured: lift it.
  OPENAI_API_KEY=bench OPENAI_BASE_URL="$UPSTREAM_V1" ORRERY_RATE_LIMIT_PER_MINUTE=1000000000 \
    java $JAVA_OPTS -jar cluster-config/target/orrery.jar serve \
    --http-port "$ORRERY_PORT" --cluster-port "$(free_port)" --data-dir "$WORK/data-$1" >"$node_log" 2>&1 &
  PIDS+=($!)
  wait_for "$node_log" "Orrery is up" 120
  # The floor: pekko-http's server handing each body to pekko-http's client, nothing else (FloorProxyMain).
  FLOOR_PORT=$(free_port)
  java $JAVA_OPTS -cp "$CLASSPATH_BENCH" dev.orrery.bench.FloorProxyMain "$UPSTREAM_V1/chat/completions" "$FLOOR_PORT" \
    >"$WORK/floor-$1.log" 2>&1 &
  PIDS+=($!)
  wait_for "$WORK/floor-$1.log" "FLOOR" 60
  # Gateway calls carry the demo tenant's key (printed once at first start), and reserve from its budget.
  export ORRERY_API_KEY=$(sed -n 's/^Admin key of tenant demo (shown once, keep it): //p' "$node_log")
  if [ "$HAVE_PORTKEY" = 1 ]; then
    PORTKEY_PORT=$(free_port)
    (cd "$WORK/portkey" && NODE_ENV=production exec node --require ./loopback.cjs \
      node_modules/@portkey-ai/gateway/build/start-server.js --port="$PORTKEY_PORT" --headless) >"$pk_log" 2>&1 &
    PIDS+=($!)
    wait_for "$pk_log" "Ready for connections\|running at" 60
  fi
}

# Prints "requests/s p50_ms p99_ms non2xx" for one wrk run.
measure() { # url script connections
  local out threads=$(( $3 < 2 ? 1 : 2 ))
  # A warm-up run first (JIT, connection pools), not recorded: every target gets the same.
  wrk -t"$threads" -c"$3" -d"$WARMUP" --timeout 10s -s "$2" "$1" >/dev/null
  out=$(wrk -t"$threads" -c"$3" -d"$DURATION" --timeout 10s --latency -s "$2" "$1")
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(r"^\s*" + label + r"\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if not m: return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
errs = re.search(r"Socket errors:.*", out)
print(f"{rps:.0f} {ms('50%'):.3f} {ms('99%'):.3f} {int(bad.group(1)) if bad else 0} {'|'+errs.group(0) if errs else ''}")
PY
}

row() { # label url script connections
  read -r rps p50 p99 bad rest <<<"$(measure "$2" "$3" "$4")"
  printf "%-10s %5s conns  %9s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s %s\n" "$1" "$4" "$rps" "$p50" "$p99" "$bad" "$rest"
  eval "RPS_$5=$rps; P50_$5=$p50"
}

echo "Router overhead on $(nproc) cores, wrk ${DURATION} per row, non-streaming chat completions"
start_stack 0
DIRECT="$UPSTREAM_V1/chat/completions"; ORRERY="http://127.0.0.1:$ORRERY_PORT/v1/chat/completions"
row direct "$DIRECT" "$HERE/chat.lua" 1 d1
row orrery "$ORRERY" "$HERE/chat.lua" 1 o1
[ "$HAVE_PORTKEY" = 1 ] && row portkey "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" "$HERE/portkey-chat.lua" 1 p1
row direct "$DIRECT" "$HERE/chat.lua" 32 d32
row floor "http://127.0.0.1:$FLOOR_PORT/v1/chat/completions" "$HERE/chat.lua" 32 f32
row orrery "$ORRERY" "$HERE/chat.lua" 32 o32
[ "$HAVE_PORTKEY" = 1 ] && row portkey "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" "$HERE/portkey-chat.lua" 32 p32
stop_all

start_stack 200
DIRECT="$UPSTREAM_V1/chat/completions"; ORRERY="http://127.0.0.1:$ORRERY_PORT/v1/chat/completions"
row direct "$DIRECT" "$HERE/chat.lua" 256 d256
row orrery "$ORRERY" "$HERE/chat.lua" 256 o256
[ "$HAVE_PORTKEY" = 1 ] && row portkey "http://127.0.0.1:$PORTKEY_PORT/v1/chat/completions" "$HERE/portkey-chat.lua" 256 p256
stop_all

echo
echo "Targets                                   orrery        portkey       goal"
python3 - "$P50_d1" "$P50_o1" "${P50_p1:-nan}" "$RPS_o32" "${RPS_p32:-nan}" "$RPS_d256" "$RPS_o256" "${RPS_p256:-nan}" "$RPS_f32" <<'PY'
import sys
d1, o1, p1, o32, p32, d256, o256, p256, f32 = map(float, sys.argv[1:])
print(f"p50 added at 1 connection (ms)         {o1-d1:8.3f}      {p1-d1:8.3f}      <= 1")
print(f"requests/s at 32 connections           {o32:8.0f}      {p32:8.0f}      >= 10x portkey ({o32/p32 if p32==p32 and p32>0 else float('nan'):.1f}x)")
print(f"floor (bare pekko-http) at 32 conns   {f32:8.0f}      {p32:8.0f}      orrery at {o32/f32:.2f} of the floor; the floor is {f32/p32 if p32==p32 and p32>0 else float('nan'):.1f}x portkey")
print(f"share of direct at 256 x 200 ms        {o256/d256:8.2f}      {p256/d256:8.2f}      >= 0.95")
PY
