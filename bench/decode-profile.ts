/**
 * Where a decode step's time goes: wall time per token, split by Ops method
 * (each wrapped with a timer; the rest is JavaScript around the kernels).
 * Prefill of --prompt tokens first (dense cache), then --gen timed steps.
 *
 *   node --import tsx bench/decode-profile.ts --model bench/out/llama-110m-q8_0.gguf [--threads 1] [--prompt 128] [--gen 64]
 */
import { basename } from 'node:path';
import type { Ops } from '../src/kernels/types.js';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import { loadModel } from '../src/runtime/load.js';
import { args, machine, saveResult } from './common.js';

const a = args();
const file = a.get('model');
if (file === undefined) {
  console.error('usage: decode-profile.ts --model FILE [--threads N] [--prompt 128] [--gen 64]');
  process.exit(2);
}
const threads = Number(a.get('threads') ?? 1);
const prompt = Number(a.get('prompt') ?? 128);
const gen = Number(a.get('gen') ?? 64);
const ops = await createWasmOps({ threads });
try {
  const m = loadModel(file, { ops });
  const V = m.hparams.vocabSize;
  const ids = Array.from({ length: prompt }, (_, i) => (i === 0 ? 1 : (i * 2654435761) % V));
  const s = m.createSession({ cache: { policy: 'dense' }, sampling: { temperature: 0 }, batchSize: Math.min(512, prompt) });
  s.prefill(ids);
  s.step(); // warm-up
  s.logits();
  const spent = new Map<string, number>();
  const methods = ['matmul', 'attendHeads', 'rmsnorm', 'layernorm', 'rope', 'add', 'swiglu', 'gelu', 'getRows', 'softmax'] as const;
  const o = ops as unknown as Record<string, (...x: unknown[]) => unknown>;
  for (const name of methods) {
    const f = o[name]!.bind(ops);
    o[name] = (...x: unknown[]) => {
      const t = performance.now();
      const r = f(...x);
      spent.set(name, (spent.get(name) ?? 0) + performance.now() - t);
      return r;
    };
  }
  const t0 = performance.now();
  for (let i = 0; i < gen; i++) {
    s.step();
    s.logits();
  }
  const total = (performance.now() - t0) / gen;
  const rows = [...spent].map(([k, v]) => ({ op: k, ms_per_token: v / gen })).sort((x, y) => y.ms_per_token - x.ms_per_token);
  const inOps = rows.reduce((acc, r) => acc + r.ms_per_token, 0);
  console.error(`${file} (${(ops as Ops).name}), ${gen} tokens after a ${prompt}-token prompt: ${total.toFixed(3)} ms/token (${(1000 / total).toFixed(1)} tok/s)`);
  for (const r of rows) console.error(`  ${r.op.padEnd(12)} ${r.ms_per_token.toFixed(3)} ms  ${((100 * r.ms_per_token) / total).toFixed(1)}%`);
  console.error(`  ${'other JS'.padEnd(12)} ${(total - inOps).toFixed(3)} ms  ${((100 * (total - inOps)) / total).toFixed(1)}%`);
  const result = { machine: machine(), command: `node --import tsx bench/decode-profile.ts --model ${file} --threads ${threads} --prompt ${prompt} --gen ${gen}`, ms_per_token: total, ops: rows, other_js_ms: total - inOps };
  console.log(JSON.stringify(result, null, 2));
  saveResult(`decode-profile-${basename(file, '.gguf')}-x${threads}`, result);
} finally {
  await ops.close();
}
