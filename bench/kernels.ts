/**
 * Kernel micro-benchmarks: every kernel of the Ops seam on the scalar
 * backend and on WasmOps with 1 and 2 threads, reported as medians of GB/s
 * (memory-bound: weight bytes per second) and GFLOP/s.
 *
 *   npm run bench:kernels                  # everything, markdown table on stdout
 *   npm run bench:kernels -- --filter q8   # only cases whose name contains "q8"
 *   npm run bench:kernels -- --samples 15 --no-scalar --json
 *   npm run bench:kernels -- --filter matmul --q8-activations always   # prefill on ggml-quantized activations
 *   (without --q8-activations each backend keeps its default: scalar 'never', wasm 'always')
 *   npm run bench:kernels -- --filter q4_0 --simd both   # the plain SIMD128 and the relaxed-SIMD build side by side
 *
 * Backends are timed round-robin, one sample each in turn (the host is shared
 * and noisy: interleaving keeps ratios honest), and each sample repeats the
 * kernel for at least --min-ms milliseconds. Never more threads than cores.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { ropeSpec } from '../src/kernels/rope.js';
import { ScalarOps, scalarOps } from '../src/kernels/scalar.js';
import type { Ops, Q8Activations, WeightMatrix } from '../src/kernels/types.js';
import { createWasmOps, type KernelChoice, type WasmOps } from '../src/kernels/wasm/index.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { quantize } from '../src/tensor/quant.js';
import { median } from '../src/eval/passes.js';

const { values: args } = parseArgs({
  options: {
    filter: { type: 'string', default: '' },
    samples: { type: 'string', default: '9' },
    'min-ms': { type: 'string', default: '40' },
    'no-scalar': { type: 'boolean', default: false },
    threads: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
    // Default: each backend's own (scalar 'never', wasm 'always'); given, both use it.
    'q8-activations': { type: 'string' },
    // Kernel build: simd, relaxed or auto (default: STREAMLLM_SIMD, else auto); "both" times the two side by side.
    simd: { type: 'string', default: '' },
  },
});
const Q8 = args['q8-activations'] as Q8Activations | undefined;
if (Q8 !== undefined && !['never', 'decode', 'always'].includes(Q8)) throw new Error(`--q8-activations must be never, decode or always, got ${Q8}`);
const SAMPLES = Number(args.samples);
const MIN_MS = Number(args['min-ms']);
const maxThreads = Math.min(2, availableParallelism());
const THREADS = args.threads !== '' ? args.threads.split(',').map(Number) : [1, maxThreads].filter((v, i, a) => a.indexOf(v) === i);

interface Backend {
  readonly label: string;
  readonly ops: Ops;
}

/** One benchmark: `prepare` places its data in the backend and returns the timed call. */
interface Case {
  readonly name: string;
  readonly unit: 'GB/s' | 'GFLOP/s';
  /** Bytes (GB/s) or FLOPs (GFLOP/s) per call. */
  readonly work: number;
  readonly scalar: boolean;
  prepare(ops: Ops): () => void;
}

let seed = 12345;
function rand(n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
  }
  return a;
}

const weightCache = new Map<string, Uint8Array>();
function weights(ops: Ops, type: GgmlType, rows: number, cols: number): WeightMatrix {
  const key = `${type}:${rows}:${cols}`;
  let q = weightCache.get(key);
  if (q === undefined) weightCache.set(key, (q = quantize(type, rand(rows * cols, 0.05))));
  const data = ops.alloc(q.length);
  data.set(q);
  const w: WeightMatrix = { name: key, type, rows, cols, data };
  // As the model loader does: the backend may re-lay the matrix out (wasm: interleaved rows).
  return ops.adoptWeight?.(w) ?? w;
}

function f32(ops: Ops, n: number, scale = 1): Float32Array {
  const a = ops.allocF32(n);
  a.set(rand(n, scale));
  return a;
}

const BYTES_PER_WEIGHT: Record<number, number> = {
  [GgmlType.F32]: 4, [GgmlType.F16]: 2, [GgmlType.Q8_0]: 34 / 32, [GgmlType.Q4_0]: 18 / 32, [GgmlType.Q4_K]: 144 / 256, [GgmlType.Q6_K]: 210 / 256,
};

function matvec(type: GgmlType, rows: number, cols: number, scalar = true): Case {
  return {
    name: `matvec ${GgmlType[type]} ${rows}x${cols}`,
    unit: 'GB/s',
    work: rows * cols * BYTES_PER_WEIGHT[type]!,
    scalar,
    prepare(ops) {
      const w = weights(ops, type, rows, cols);
      const x = f32(ops, cols);
      const out = ops.allocF32(rows);
      return () => ops.matmul(out, w, x, 1);
    },
  };
}

function matmul(type: GgmlType, rows: number, cols: number, n: number): Case {
  return {
    name: `matmul ${GgmlType[type]} ${rows}x${cols}, ${n} tokens`,
    unit: 'GFLOP/s',
    work: 2 * rows * cols * n,
    scalar: false,
    prepare(ops) {
      const w = weights(ops, type, rows, cols);
      const x = f32(ops, n * cols);
      const out = ops.allocF32(n * rows);
      return () => ops.matmul(out, w, x, n);
    },
  };
}

function vector(name: string, bytes: number, make: (ops: Ops) => () => void): Case {
  return { name, unit: 'GB/s', work: bytes, scalar: true, prepare: make };
}

const D = 4096;
const CASES: Case[] = [
  matvec(GgmlType.F32, 4096, 4096),
  matvec(GgmlType.Q8_0, 4096, 4096),
  matvec(GgmlType.Q4_0, 4096, 4096),
  matvec(GgmlType.F16, 4096, 4096, false),
  matvec(GgmlType.Q4_K, 4096, 4096, false),
  matvec(GgmlType.Q6_K, 4096, 4096, false),
  matvec(GgmlType.Q8_0, 16384, 4096, false),
  matmul(GgmlType.F32, 1024, 1024, 256),
  matmul(GgmlType.F32, 4096, 4096, 64),
  matmul(GgmlType.Q8_0, 4096, 4096, 64),
  matmul(GgmlType.Q4_0, 4096, 4096, 64),
  matmul(GgmlType.Q4_K, 4096, 4096, 64),
  matmul(GgmlType.Q6_K, 4096, 4096, 64),
  vector(`rmsnorm ${D}`, 3 * D * 4, (ops) => {
    const x = f32(ops, D);
    const w = rand(D);
    const out = ops.allocF32(D);
    return () => ops.rmsnorm(out, x, w, 1e-5, 1);
  }),
  vector(`softmax ${D}`, 2 * D * 4, (ops) => {
    const x = f32(ops, D, 5);
    return () => ops.softmax(x, 0, D);
  }),
  vector('swiglu 11008', 3 * 11008 * 4, (ops) => {
    const g = f32(ops, 11008);
    const u = f32(ops, 11008);
    return () => {
      ops.swiglu(g, u, 11008);
      g.fill(0.5);
    };
  }),
  vector('rope 32 heads x 128', 2 * 32 * 128 * 4, (ops) => {
    const x = f32(ops, 32 * 128);
    const spec = ropeSpec({ style: 'adjacent', dims: 128, base: 10000 });
    let pos = 0;
    return () => ops.rope(x, 0, 32, 128, pos++, spec);
  }),
  vector('dotRows 4096 keys x 128', 4096 * 128 * 4, (ops) => {
    const k = f32(ops, 4096 * 128);
    const q = f32(ops, 128);
    const s = ops.allocF32(4096);
    return () => ops.dotRows(s, 0, q, 0, k, 0, 128, 4096, 128, 0.1);
  }),
  vector('axpyRows 4096 values x 128', 4096 * 128 * 4, (ops) => {
    const v = f32(ops, 4096 * 128);
    const w = f32(ops, 4096, 0.001);
    const out = ops.allocF32(128);
    return () => ops.axpyRows(out, 0, w, 0, v, 0, 128, 4096, 128);
  }),
];

/** Seconds per call, one sample: repeat for at least MIN_MS. */
function sample(fn: () => void, reps: number): number {
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  return (performance.now() - t0) / 1000 / reps;
}

async function main(): Promise<void> {
  const backends: Backend[] = [];
  const scalar = Q8 === undefined ? scalarOps : new ScalarOps({ q8Activations: Q8 });
  if (!args['no-scalar']) backends.push({ label: 'scalar', ops: scalar });
  const wasm: WasmOps[] = [];
  const builds: (KernelChoice | undefined)[] = args.simd === 'both' ? ['simd', 'relaxed'] : [args.simd === '' ? undefined : (args.simd as KernelChoice)];
  for (const t of THREADS) {
    for (const simd of builds) {
      const ops = await createWasmOps({ threads: t, ...(Q8 === undefined ? {} : { q8Activations: Q8 }), ...(simd === undefined ? {} : { simd }) });
      wasm.push(ops);
      backends.push({ label: builds.length > 1 ? `${ops.variant} x${t}` : `wasm x${t}`, ops });
    }
  }
  const rows: { kernel: string; unit: string; results: Record<string, number>; mainShare: number | undefined }[] = [];
  for (const c of CASES) {
    if (args.filter !== '' && !c.name.toLowerCase().includes(args.filter.toLowerCase())) continue;
    const runs = backends.filter((b) => c.scalar || b.ops !== scalar);
    const fns = runs.map((b) => c.prepare(b.ops));
    // Warm up (JIT tiers, page faults) and size each backend's repetitions.
    const reps = fns.map((f) => {
      const t = sample(f, 1) + sample(f, 1);
      return Math.max(1, Math.ceil(MIN_MS / 1000 / Math.max(t / 2, 1e-7)));
    });
    const stats0 = wasm.map((w) => w.parallelStats());
    const times: number[][] = runs.map(() => []);
    const samples = runs.some((b) => b.ops === scalar) ? Math.min(SAMPLES, 5) : SAMPLES;
    for (let s = 0; s < samples; s++) fns.forEach((f, i) => times[i]!.push(sample(f, reps[i]!)));
    const results: Record<string, number> = {};
    runs.forEach((b, i) => (results[b.label] = c.work / median(times[i]!) / 1e9));
    // How much of the pool's work the calling thread did during this case (0.5 = even split with 2 threads).
    let share: number | undefined;
    wasm.forEach((w, i) => {
      const now = w.parallelStats();
      const all = now.allChunks - stats0[i]!.allChunks;
      if (all > 0) share = (now.mainChunks - stats0[i]!.mainChunks) / all;
    });
    rows.push({ kernel: c.name, unit: c.unit, results, mainShare: share });
    if (!args.json) process.stderr.write(`${c.name}: ${runs.map((b) => `${b.label} ${results[b.label]!.toFixed(2)}`).join(', ')} ${c.unit}${share === undefined ? '' : `, main-thread share ${share.toFixed(2)}`}\n`);
  }
  for (const w of wasm) await w.close();
  if (args.json) {
    console.log(JSON.stringify({ node: process.version, cpus: availableParallelism(), samples: SAMPLES, q8Activations: Q8 ?? 'default', rows }, null, 2));
    return;
  }
  const labels = backends.map((b) => b.label);
  console.log(`| kernel | unit | ${labels.join(' | ')} | main-thread share |`);
  console.log(`|---|---|${labels.map(() => '---:').join('|')}|---:|`);
  for (const r of rows) {
    const cells = labels.map((l) => (r.results[l] === undefined ? '–' : r.results[l]!.toFixed(2)));
    console.log(`| ${r.kernel} | ${r.unit} | ${cells.join(' | ')} | ${r.mainShare === undefined ? '–' : r.mainShare.toFixed(2)} |`);
  }
}

await main();
