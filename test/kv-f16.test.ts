/**
 * The 16-bit KV cache (kvType 'f16'): the f32 -> half store is bit-exact
 * with the scalar conversion on every backend; attention over half rows
 * gives exactly what the same kernels give on those halves widened to f32
 * (the conversion is exact, the sums run in the same order); the caches
 * store halves, use half the bytes, and stay close to an f32 cache.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeRandomLlama } from '../src/convert/random.js';
import type { KvArray, KvRun, Ops } from '../src/kernels/types.js';
import { scalarOps } from '../src/kernels/scalar.js';
import { createWasmOps, type WasmOps } from '../src/kernels/wasm/index.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { SeededRng } from '../src/sampling/rng.js';
import { f16ToF32, f32ToF16Saturating, halfTableF32 } from '../src/tensor/half.js';
import { maxAbsDiff } from './helpers/compare.js';
import { tempDir } from './helpers/tmp.js';

const rng = new SeededRng(16);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);
const opened: WasmOps[] = [];
after(async () => {
  for (const o of opened) await o.close();
});
const BACKENDS: [string, () => Promise<Ops>][] = [
  ['scalar', async () => scalarOps],
  ['wasm x1', async () => track(await createWasmOps({ threads: 1 }))],
  ['wasm x2', async () => track(await createWasmOps({ threads: 2, minParallelWork: 0 }))],
  ['wasm x1, simd build', async () => track(await createWasmOps({ threads: 1, simd: 'simd' }))],
];
function track(o: WasmOps): WasmOps {
  opened.push(o);
  return o;
}

/** Halves in the backend's memory (own) or a plain array. */
function halves(ops: Ops, h: Uint16Array, own: boolean): Uint16Array {
  if (!own) return Uint16Array.from(h);
  const b = ops.allocF16(h.length);
  b.set(h);
  return b;
}
const widen = (h: Uint16Array) => Float32Array.from(h, (x) => f16ToF32(x));
const toHalves = (x: Float32Array) => Uint16Array.from(x, (v) => f32ToF16Saturating(v));
function sameBits(label: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  assert.equal(a.length, b.length, label);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${label}: element ${i} is ${a[i]}, expected ${b[i]}`);
  }
}

/** Values that exercise every branch of the conversion: zeros, subnormals, ties, the top of the range, inf, NaN. */
function conversionInputs(): Float32Array {
  const special = [0, -0, 1, -1, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -14 - 2 ** -25, 65504, -65504, 65519, 65520, 1e6, -1e30,
    Infinity, -Infinity, NaN, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1.5 * 2 ** -20, 6.1e-5, 5.96e-8, 2.98e-8, 1e-40];
  const out = new Float32Array(1003);
  out.set(special);
  for (let i = special.length; i < out.length; i++) out[i] = (rng.nextFloat() * 2 - 1) * 2 ** Math.floor(rng.nextFloat() * 50 - 30);
  return out;
}

test('f32ToF16Saturating: round to nearest even, ±65504 instead of infinity, NaN kept', () => {
  assert.equal(f32ToF16Saturating(1 + 2 ** -11), 0x3c00, 'a tie rounds to even (down)');
  assert.equal(f32ToF16Saturating(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to even (up)');
  assert.equal(f32ToF16Saturating(65520), 0x7bff);
  assert.equal(f32ToF16Saturating(-Infinity), 0xfbff);
  assert.equal(f32ToF16Saturating(2 ** -25), 0, 'half the smallest subnormal ties to 0');
  assert.equal(f32ToF16Saturating(3 * 2 ** -26), 1);
  assert.ok(Number.isNaN(f16ToF32(f32ToF16Saturating(NaN))));
  // Every finite half converts back to itself.
  const t = halfTableF32();
  for (let h = 0; h < 0x10000; h++) if (Number.isFinite(t[h]!)) assert.equal(f32ToF16Saturating(t[h]!), h === 0x8000 ? 0x8000 : h, `half ${h}`);
});

for (const [name, make] of BACKENDS) {
  test(`${name}: storeF16 is bit-exact with the scalar conversion (1003 values, offsets, own and foreign arrays)`, async () => {
    const ops = await make();
    const x = conversionInputs();
    const want = toHalves(x);
    for (const own of [true, false]) {
      const dst = halves(ops, new Uint16Array(x.length + 5).fill(0xabcd), own);
      const src = own ? ops.allocF32(x.length + 2) : new Float32Array(x.length + 2);
      src.set(x, 2);
      ops.storeF16(dst, 3, src, 2, x.length);
      sameBits(`storeF16 own=${own}`, dst.subarray(3, 3 + x.length), want);
      assert.equal(dst[2], 0xabcd, 'nothing written before dOff');
      assert.equal(dst[3 + x.length], 0xabcd, 'nothing written after');
    }
  });

  test(`${name}: dotRows / axpyRows over halves equal the same kernels on the halves widened to f32 (d 67, stride 70; small and ≥ 2^16 queries and weights); mixed runs refused`, async () => {
    const ops = await make();
    const count = 37, d = 67, stride = 70;
    const keys = toHalves(rand(9 + count * stride, 3));
    const q = rand(3 + d, 2);
    const bigQ = Float32Array.from(q);
    bigQ[40] = 70000; // past half-kv.ts FOLD_LIMIT: the kernel's other path
    for (const [own, qq] of [[true, q], [false, q], [true, bigQ]] as const) {
      const a = new Float32Array(2 + count);
      const b = new Float32Array(2 + count);
      ops.dotRows(a, 2, qq, 3, halves(ops, keys, own), 9, stride, count, d, 0.125);
      ops.dotRows(b, 2, qq, 3, widen(keys), 9, stride, count, d, 0.125);
      sameBits(`dotRows own=${own} max|q|=${Math.max(...qq.map(Math.abs))}`, a, b);
    }
    for (const own of [true, false]) {
      const w = rand(4 + count);
      const o1 = rand(1 + d);
      const o2 = Float32Array.from(o1);
      ops.axpyRows(o1, 1, w, 4, halves(ops, keys, own), 9, stride, count, d);
      ops.axpyRows(o2, 1, w, 4, widen(keys), 9, stride, count, d);
      sameBits(`axpyRows own=${own}`, o1, o2);
      // Weights of 2^16 and more (never softmax's) take the widened path: still the f32 kernel's bits.
      const wBig = Float32Array.from(w);
      wBig[10] = 1e5;
      const o3 = Float32Array.from(o1);
      const o4 = Float32Array.from(o1);
      ops.axpyRows(o3, 1, wBig, 4, halves(ops, keys, own), 9, stride, count, d);
      ops.axpyRows(o4, 1, wBig, 4, widen(keys), 9, stride, count, d);
      sameBits(`axpyRows, a weight ≥ 2^16, own=${own}`, o3, o4);
      assert.ok(o3.every(Number.isFinite));
    }
    const mixed: KvRun[] = [{ keys: toHalves(rand(64)), values: rand(64), offset: 0, headStride: 8, rowStride: 8, count: 2, firstDistance: 1 }];
    assert.throws(() => ops.attendHeads(new Float32Array(8), 0, rand(8), 0, mixed, 1, { nHeads: 1, kvHeads: 1, headDim: 8, scale: 1 }), { code: 'BAD_ARGUMENT' });
  });

  test(`${name}: attendHeads over a half store plus an f32 batch equals it over the widened store; close to the scalar oracle`, async () => {
    const ops = await make();
    const nHeads = 8, kvHeads = 2, d = 20;
    const store = toHalves(rand(kvHeads * 50 * d, 2));
    const storeV = toHalves(rand(kvHeads * 50 * d, 2));
    const batch = rand(9 * kvHeads * d);
    const batchV = rand(9 * kvHeads * d);
    const q = rand(nHeads * d);
    const slopes = Float32Array.from({ length: nHeads }, (_, h) => 2 ** (-(h + 1)));
    const bigQ = Float32Array.from(q);
    bigQ[3 * d + 5] = -1e5; // past half-kv.ts FOLD_LIMIT: the heads take the unfolded path
    // Grouped (8 over 2: rows widened once per kv head) and plain multi-head (4 over 4 from the same rows: the
    // per-head half kernels), small queries and one ≥ 2^16.
    for (const [nh, kvh] of [[8, 2], [4, 4]] as const) {
      for (const qq of [q, bigQ]) {
        const qv = qq.subarray(0, nh * d);
        const a = new Float32Array(nh * d);
        const b = new Float32Array(nh * d);
        const one = (k: KvArray, v: KvArray): KvRun[] => [{ keys: k, values: v, offset: 0, headStride: 25 * d, rowStride: d, count: 25, firstDistance: 24 }];
        const sh = { nHeads: nh, kvHeads: kvh, headDim: d, scale: 1e-4 };
        ops.attendHeads(a, 0, qv, 0, one(halves(ops, store, true), halves(ops, storeV, true)), 1, sh);
        ops.attendHeads(b, 0, qv, 0, one(widen(store), widen(storeV)), 1, sh);
        sameBits(`attendHeads ${nh}/${kvh} heads, max|q| ${Math.max(...qv.map(Math.abs))}`, a, b);
      }
    }
    for (const alibi of [false, true]) {
      const shape = { nHeads, kvHeads, headDim: d, scale: 0.3, ...(alibi ? { alibiSlopes: slopes } : {}) };
      const runs = (k: KvArray, v: KvArray): KvRun[] => [
        { keys: k, values: v, offset: 3 * d, headStride: 50 * d, rowStride: d, count: 41, firstDistance: 47 },
        { keys: batch, values: batchV, offset: 2 * kvHeads * d, headStride: d, rowStride: kvHeads * d, count: 7, firstDistance: 6 },
      ];
      const out = new Float32Array(nHeads * d);
      ops.attendHeads(out, 0, q, 0, runs(halves(ops, store, true), halves(ops, storeV, true)), 2, shape);
      const ref = new Float32Array(nHeads * d);
      ops.attendHeads(ref, 0, q, 0, runs(widen(store), widen(storeV)), 2, shape);
      sameBits(`attendHeads alibi=${alibi}`, out, ref);
      const oracle = new Float32Array(nHeads * d);
      scalarOps.attendHeads(oracle, 0, q, 0, runs(store, storeV), 2, shape);
      const { maxAbsDiff: diff } = maxAbsDiff(out, oracle);
      assert.ok(diff < 2e-5, `vs scalar: ${diff}`);
      if (ops.attendBatch !== undefined) {
        // Two tokens, the same runs each: the batch path reads halves like the single-token one.
        const qq = new Float32Array(2 * nHeads * d);
        qq.set(q);
        qq.set(q, nHeads * d);
        const both = new Float32Array(2 * nHeads * d);
        const r = runs(halves(ops, store, true), halves(ops, storeV, true));
        ops.attendBatch(both, 0, qq, 0, 2, [...r, ...r], 2, shape);
        sameBits(`attendBatch alibi=${alibi}`, both.subarray(nHeads * d), out);
      }
    }
  });
}

const dir = tempDir();
const HP: Hparams = {
  arch: 'llama',
  vocabSize: 64,
  dim: 48,
  layers: 2,
  nHeads: 4,
  kvHeads: 2,
  headDim: 12,
  ffnDim: 96,
  contextLength: 64,
  normEps: 1e-5,
  rope: { base: 10000, dims: 12, style: 'adjacent', freqScale: 1 },
};
const modelPath = join(dir, 'kv16.gguf');
writeRandomLlama(modelPath, { hparams: HP, seed: 5 });
const stream = Array.from({ length: 150 }, (_, i) => (i * 29 + 3) % 64);

test('caches with kvType f16: half the bytes, logits close to f32 but not equal, batched (over several batches) equals token by token', async () => {
  const ops = track(await createWasmOps({ threads: 2, minParallelWork: 0 }));
  for (const engine of [scalarOps, ops]) {
    const m = loadModel(modelPath, { ops: engine });
    for (const policy of ['dense', 'sink', 'window', 'recompute'] as const) {
      const cache = policy === 'dense' ? { policy } : policy === 'sink' ? { policy, sinks: 4, window: 28 } : { policy, window: 32 };
      const n = policy === 'dense' ? 60 : stream.length;
      const s32 = m.createSession({ cache: { ...cache, kvType: 'f32' }, batchSize: 16 });
      const s16 = m.createSession({ cache: { ...cache, kvType: 'f16' }, batchSize: 16 });
      const one = m.createSession({ cache: { ...cache, kvType: 'f16' }, batchSize: 1 });
      const a: Float32Array[] = [];
      const b: Float32Array[] = [];
      s32.evaluate(stream.slice(0, n), (_, r) => a.push(Float32Array.from(r)));
      s16.evaluate(stream.slice(0, n), (_, r) => b.push(Float32Array.from(r)));
      let close = 0;
      let equalRows = 0;
      for (let i = 0; i < n; i++) {
        const diff = maxAbsDiff(b[i]!, a[i]!).maxAbsDiff;
        close = Math.max(close, diff);
        if (diff === 0) equalRows++;
      }
      const label = `${engine.name} ${policy}`;
      assert.ok(close < 5e-3, `${label}: f16 vs f32 logits differ by ${close}`);
      assert.ok(equalRows < n, `${label}: the f16 cache changed nothing (not used?)`);
      let worst = 0;
      one.evaluate(stream.slice(0, n), (i, r) => (worst = Math.max(worst, maxAbsDiff(r, b[i]!).maxAbsDiff)));
      // Scalar: batches and single tokens compute the same keys, so the same halves. Wasm: prefill's tiled matmul and
      // decode's matvec differ in the last f32 bits, which can move a key across a half's rounding boundary (~1e-4 here).
      const tol = engine === scalarOps ? 1e-5 : 1e-3;
      assert.ok(worst < tol, `${label}: batched vs one-by-one differ by ${worst}`);
    }
    // One token per batch: no prefill scratch, only the stored rows.
    const d32 = m.createSession({ cache: { policy: 'dense', kvType: 'f32' }, batchSize: 1 });
    const d16 = m.createSession({ cache: { policy: 'dense', kvType: 'f16' }, batchSize: 1 });
    d32.prefill(stream.slice(0, 10));
    d16.prefill(stream.slice(0, 10));
    assert.equal(d16.cacheBytes * 2, d32.cacheBytes);
  }
  assert.throws(() => loadModel(modelPath).createSession({ cache: { policy: 'dense', kvType: 'f8' as 'f16' } }), { code: 'BAD_ARGUMENT' });
});
