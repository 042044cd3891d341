/**
 * Where a decode step's (or a prefill's) time goes: wall time split by Ops
 * method (each wrapped with a timer; the rest is JavaScript around the
 * kernels). Decode: prefill of --prompt tokens first (dense cache), then
 * --gen timed steps, reported per token. Prefill (--phase prefill): one
 * untimed 32-token pass, then --reps timed prefills of --prompt tokens in
 * one batch from an empty cache, reported per prefill.
 *
 *   node --import tsx bench/decode-profile.ts --model bench/out/llama-110m-q8_0.gguf [--threads 1] [--prompt 128] [--gen 64] [--kv-type f32|f16]
 *   node --import tsx bench/decode-profile.ts --model bench/out/llama-110m-q4_0.gguf --phase prefill --threads 2 [--reps 5]
 */
import { basename } from 'node:path';
import type { Ops } from '../src/kernels/types.js';
import { createWasmOps } from '../src/kernels/wasm/index.js';
import { loadModel } from '../src/runtime/load.js';
import { args, machine, saveResult } from './common.js';

const a = args();
const file = a.get('model');
const phase = a.get('phase') ?? 'decode';
if (file === undefined || (phase !== 'decode' && phase !== 'prefill')) {
  console.error('usage: decode-profile.ts --model FILE [--phase decode|prefill] [--threads N] [--prompt 128] [--gen 64] [--reps 5]');
  process.exit(2);
}
const threads = Number(a.get('threads') ?? 1);
const prompt = Number(a.get('prompt') ?? 128);
const gen = Number(a.get('gen') ?? 64);
const reps = Number(a.get('reps') ?? 5);
const kvType = (a.get('kv-type') ?? 'f32') as 'f32' | 'f16';
const ops = await createWasmOps({ threads });
try {
  const m = loadModel(file, { ops });
  const V = m.hparams.vocabSize;
  const ids = Array.from({ length: prompt }, (_, i) => (i === 0 ? 1 : (i * 2654435761) % V));
  const s = m.createSession({ cache: { policy: 'dense', kvType }, sampling: { temperature: 0 }, batchSize: Math.min(512, prompt) });
  // Warm-up: decode times steps after the prompt; prefill times fresh prompts after a short one.
  if (phase === 'decode') {
    s.prefill(ids);
    s.step();
  } else {
    s.prefill(ids.slice(0, Math.min(32, prompt)));
  }
  s.logits();
  const spent = new Map<string, number>();
  const methods = ['matmul', 'attendHeads', 'attendBatch', 'rmsnorm', 'layernorm', 'rope', 'add', 'swiglu', 'gelu', 'getRows', 'softmax'] as const;
  const o = ops as unknown as Record<string, (...x: unknown[]) => unknown>;
  for (const name of methods) {
    if (o[name] === undefined) continue;
    const f = o[name]!.bind(ops);
    o[name] = (...x: unknown[]) => {
      const t = performance.now();
      const r = f(...x);
      spent.set(name, (spent.get(name) ?? 0) + performance.now() - t);
      return r;
    };
  }
  // Units: per decoded token, or per whole prefill of `prompt` tokens.
  const units = phase === 'decode' ? gen : reps;
  let elapsed = 0;
  for (let i = 0; i < units; i++) {
    if (phase === 'prefill') s.reset();
    const t0 = performance.now();
    if (phase === 'decode') s.step();
    else s.prefill(ids);
    s.logits();
    elapsed += performance.now() - t0;
  }
  const total = elapsed / units;
  const unit = phase === 'decode' ? 'token' : `${prompt}-token prefill`;
  const rows = [...spent].map(([k, v]) => ({ op: k, ms: v / units })).sort((x, y) => y.ms - x.ms);
  const inOps = rows.reduce((acc, r) => acc + r.ms, 0);
  const rate = phase === 'decode' ? 1000 / total : (1000 * prompt) / total;
  const what = phase === 'decode' ? `${gen} tokens after a ${prompt}-token prompt` : `${reps} prefills of ${prompt} tokens`;
  console.error(`${file} (${(ops as Ops).name}), ${what}: ${total.toFixed(3)} ms per ${unit} (${rate.toFixed(1)} tok/s)`);
  for (const r of rows) console.error(`  ${r.op.padEnd(12)} ${r.ms.toFixed(3)} ms  ${((100 * r.ms) / total).toFixed(1)}%`);
  console.error(`  ${'other JS'.padEnd(12)} ${(total - inOps).toFixed(3)} ms  ${((100 * (total - inOps)) / total).toFixed(1)}%`);
  const command = `node --import tsx bench/decode-profile.ts --model ${file}${phase === 'prefill' ? ` --phase prefill --reps ${reps}` : ` --gen ${gen}`} --threads ${threads} --prompt ${prompt} --kv-type ${kvType}`;
  const result = { machine: machine(), command, phase, unit, ms: total, tok_s: rate, ops: rows, other_js_ms: total - inOps };
  console.log(JSON.stringify(result, null, 2));
  saveResult(`${phase}-profile-${basename(file, '.gguf')}-x${threads}`, result);
} finally {
  await ops.close();
}
