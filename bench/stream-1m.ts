/**
 * Constant memory and latency over an endless stream: generate N tokens
 * (default 1,000,000) with the sink policy on aidreams260K and record RSS at
 * checkpoints and per-token latency percentiles (in a bounded histogram, so
 * the benchmark itself does not grow memory).
 *
 *   node --import tsx bench/stream-1m.ts [--tokens 1000000] [--sinks 4] [--window 124] [--kv-type f32|f16]
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../src/runtime/index.js';
import { args, BENCH_DIR, LatencyHistogram, machine, rssMiB, saveResult } from './common.js';

const a = args();
const N = Number(a.get('tokens') ?? 1_000_000);
const sinks = Number(a.get('sinks') ?? 4);
const window = Number(a.get('window') ?? 124);
const kvType = (a.get('kv-type') ?? 'f32') as 'f32' | 'f16';
const fixtures = join(BENCH_DIR, '..', '..', 'shared', 'fixtures', 'models');
const bin = join(fixtures, 'aidreams260K.bin');
if (!existsSync(bin)) {
  console.error(`stream-1m: ${bin} not found (the aidreams260K fixture is needed)`);
  process.exit(2);
}
const m = loadModel(bin);
const s = m.createSession({ cache: { policy: 'sink', sinks, window, kvType }, sampling: { temperature: 1, seed: 1234 } });
s.prefill([1]);
const hist = new LatencyHistogram();
const checkpoints: { tokens: number; rssMiB: number; heapMiB: number; tokPerS: number }[] = [];
const marks = new Set([1_000, 10_000, 100_000, 200_000, 500_000, 1_000_000, N]);
let t0 = performance.now();
let lastMark = 0;
for (let i = 1; i <= N; i++) {
  const a0 = performance.now();
  s.step();
  s.logits(); // feed the sampled token now, so the step's latency includes its forward pass
  hist.add(performance.now() - a0);
  if (marks.has(i) || i % 100_000 === 0) {
    const now = performance.now();
    const cp = { tokens: i, rssMiB: rssMiB(), heapMiB: process.memoryUsage().heapUsed / 2 ** 20, tokPerS: ((i - lastMark) * 1000) / (now - t0) };
    checkpoints.push(cp);
    console.error(`${i} tokens: RSS ${cp.rssMiB.toFixed(1)} MiB, heap ${cp.heapMiB.toFixed(1)} MiB, ${cp.tokPerS.toFixed(0)} tok/s`);
    t0 = now;
    lastMark = i;
  }
}
const at = (n: number) => checkpoints.find((c) => c.tokens === n);
const r100k = at(100_000);
const r1m = at(N);
const result = {
  machine: machine(),
  command: `node --import tsx bench/stream-1m.ts --tokens ${N} --sinks ${sinks} --window ${window} --kv-type ${kvType}`,
  ops: m.ops.name,
  cache: s.stats(),
  checkpoints,
  rssGrowth100kTo1mPct: r100k !== undefined && r1m !== undefined ? ((r1m.rssMiB - r100k.rssMiB) / r100k.rssMiB) * 100 : null,
  latencyMs: { p50: hist.percentile(50), p90: hist.percentile(90), p99: hist.percentile(99), p999: hist.percentile(99.9) },
  p99OverP50: hist.percentile(99) / hist.percentile(50),
};
console.log(JSON.stringify(result, null, 2));
saveResult(kvType === 'f32' ? 'stream-1m' : `stream-1m-${kvType}`, result);
