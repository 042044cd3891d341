/**
 * Per-token decode latency: StreamingLLM (sink) against the sliding window
 * with re-computation (the paper's baseline, Table/Figure 10), at cache sizes
 * 256..4096, on a random-weight Llama GGUF with realistic proportions written
 * by the project's own GGUF writer (speed does not depend on weight values).
 *
 *   node --import tsx bench/sink-vs-recompute.ts [--sizes 256,512,1024,2048,4096] [--sink-tokens 8] [--recompute-tokens 2] [--ops scalar|wasm] [--threads N]
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RecomputeCache } from '../src/cache/recompute.js';
import { StreamingCache } from '../src/cache/streaming.js';
import { writeRandomLlama } from '../src/convert/random.js';
import type { Ops } from '../src/kernels/types.js';
import { scalarOps } from '../src/kernels/scalar.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { args, BENCH_DIR, machine, median, saveResult } from './common.js';
import { SHAPES } from './models.js';

const a = args();
const sizes = (a.get('sizes') ?? '256,512,1024,2048,4096').split(',').map(Number);
const sinkTokens = Number(a.get('sink-tokens') ?? 8);
const recomputeTokens = Number(a.get('recompute-tokens') ?? 2);
const opsName = a.get('ops') ?? 'scalar';
const threads = Number(a.get('threads') ?? 1);

async function makeOps(): Promise<Ops> {
  if (opsName === 'scalar') return scalarOps;
  // The SIMD WebAssembly backend, when built (issue 4).
  const mod = (await import('../src/kernels/index.js')) as unknown as { createWasmOps?: (o: { threads: number }) => Promise<Ops> };
  if (mod.createWasmOps === undefined) throw new Error('this build has no wasm backend');
  return mod.createWasmOps({ threads });
}

const HP: Hparams = SHAPES['llama-d512-l8'];
const outDir = join(BENCH_DIR, 'out');
mkdirSync(outDir, { recursive: true });
const gguf = join(outDir, 'random-llama-d512-l8.gguf');
if (!existsSync(gguf)) {
  console.error(`writing ${gguf} ...`);
  writeRandomLlama(gguf, { hparams: HP, seed: 42, name: 'random-llama-d512-l8' });
}
const ops = await makeOps();
const m = loadModel(gguf, { ops });
const rng = (i: number) => (i * 7919 + 13) % HP.vocabSize;
const rows: { cacheSize: number; sinkMs: number; recomputeMs: number; ratio: number; sinkSamples: number[]; recomputeSamples: number[] }[] = [];

for (const C of sizes) {
  // StreamingLLM: fill the cache past capacity, then time single-token decode steps.
  const sink = new StreamingCache(m.model.geometry, ops, { policy: 'sink', sinks: 4, window: C - 4 });
  for (let i = 0; i < C + 8; i += 256) {
    const n = Math.min(256, C + 8 - i);
    m.model.forward(Array.from({ length: n }, (_, j) => rng(i + j)), sink, { logits: 'none' });
  }
  const sinkSamples: number[] = [];
  for (let i = 0; i < sinkTokens; i++) {
    const t0 = performance.now();
    m.model.forward([rng(C + 8 + i)], sink, { logits: 'last' });
    sinkSamples.push(performance.now() - t0);
  }
  // Recompute: the window is full (ids are pushed without running the model, which is
  // only bookkeeping), then each timed token re-runs all C tokens from an empty cache.
  const rc = new RecomputeCache(m.model.geometry, ops, C);
  for (let i = 0; i < C - 1; i++) rc.replayWindow(rng(i));
  const recomputeSamples: number[] = [];
  for (let i = 0; i < recomputeTokens; i++) {
    const t0 = performance.now();
    const win = rc.replayWindow(rng(C + i));
    m.model.forward(win, rc, { logits: 'last' });
    recomputeSamples.push(performance.now() - t0);
  }
  const row = { cacheSize: C, sinkMs: median(sinkSamples), recomputeMs: median(recomputeSamples), ratio: 0, sinkSamples, recomputeSamples };
  row.ratio = row.recomputeMs / row.sinkMs;
  rows.push(row);
  console.error(`cache ${C}: sink ${row.sinkMs.toFixed(1)} ms/token, recompute ${row.recomputeMs.toFixed(0)} ms/token, ${row.ratio.toFixed(1)}x`);
}
const result = {
  machine: machine(),
  command: `node --import tsx bench/sink-vs-recompute.ts --sizes ${sizes.join(',')} --sink-tokens ${sinkTokens} --recompute-tokens ${recomputeTokens} --ops ${opsName} --threads ${threads}`,
  model: { file: 'random-llama-d512-l8.gguf (F32, written by writeRandomLlama)', ...HP },
  ops: ops.name,
  rows,
};
console.log(JSON.stringify(result, null, 2));
saveResult(`sink-vs-recompute-${opsName}`, result);
await (ops as Ops & { close?: () => Promise<void> | void }).close?.();
