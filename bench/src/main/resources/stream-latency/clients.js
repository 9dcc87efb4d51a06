// The stream benchmarks' subscribers in Node.js with the `ws` package: the same protocol on standard input
// and output as StreamLatencyBench.ClientMain (`open URL KEY RUN,RUN,...` answered `connected` once every
// stream has its first message; `end` answered `ended FILE` once every stream has closed, FILE holding one
// line per message: run, arrival, seq, delta key). A lighter client than the JDK's on the same cores.
// Arrival times are process.hrtime.bigint(), the machine's monotonic clock, as the JVM's System.nanoTime.
import { WebSocket } from 'ws';
import { createInterface } from 'node:readline';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let open = [];

function number(text, from) {
  let n = 0;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
}

// Picks the fields it needs out of the text, as ClientMain does: seq first, a delta's item and attempt.
function record(s, at, text) {
  if (text.startsWith('{"seq":')) {
    s.received.push(`${s.runId} ${at} ${number(text, 7)} -`);
  } else if (text.startsWith('{"type":"StepDelta"')) {
    const node = text.indexOf('"node_id":"') + 11;
    const data = text.indexOf('"data":{', node);
    const item = text.indexOf('"item":', data);
    const attempt = text.indexOf('"attempt":', data);
    const step = text.substring(node, text.indexOf('"', node)) + '|'
      + (item < 0 || item > attempt ? 'null' : number(text, item + 7)) + '|' + number(text, attempt + 10);
    const n = (s.deltaCounts.get(step) || 0) + 1;
    s.deltaCounts.set(step, n);
    s.received.push(`${s.runId} ${at} 0 ${step}|${n}`);
  }
}

function subscribe(baseUrl, key, runId) {
  const s = { runId, received: [], deltaCounts: new Map() };
  s.first = new Promise((resolve, reject) => { s.gotFirst = resolve; s.failed = reject; });
  s.done = new Promise((resolve, reject) => { s.closed = resolve; s.error = reject; });
  const url = `${baseUrl.replace(/^http/, 'ws')}/api/v1/runs/${runId}/stream?from_seq=1&access_token=${key}`;
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('message', (data, isBinary) => {
    const at = process.hrtime.bigint();
    if (!isBinary) record(s, at, data.toString());
    s.gotFirst();
  });
  ws.on('close', () => s.closed());
  ws.on('error', (e) => { s.failed(e); s.error(e); });
  return s;
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.startsWith('open ')) {
    const [, baseUrl, key, runs] = line.split(' ');
    const runIds = runs.split(',');
    // 50 handshakes at a time, as ClientMain
    for (let i = 0; i < runIds.length; i += 50) {
      const batch = runIds.slice(i, i + 50).map((r) => subscribe(baseUrl, key, r));
      await Promise.all(batch.map((s) => s.first));
      open.push(...batch);
    }
    console.log('connected');
  } else if (line === 'end') {
    await Promise.all(open.map((s) => s.done));
    const file = join(tmpdir(), `orrery-bench-receipts-${process.pid}-${Date.now()}.txt`);
    writeFileSync(file, open.flatMap((s) => s.received).join('\n') + '\n');
    open = [];
    console.log(`ended ${file}`);
  }
}
process.exit(0);
