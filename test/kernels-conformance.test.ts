/**
 * One conformance suite for every kernel backend (GUIDE practice 5): each
 * Ops method runs on scalar, wasm with 1 thread and wasm with 2 threads
 * (every matmul forced onto the pool), each also with the other
 * q8Activations settings ('never', 'decode', 'always'), on random inputs at
 * odd sizes, and is compared with the scalar oracle under explicit
 * tolerances. Inputs are placed both
 * in the backend's own memory (the fast path) and in plain Float32Arrays
 * (the copy-in/out path).
 *
 * Tolerances, and why:
 * - float weights (F32/F16/BF16), and integer weights wherever the backend
 *   keeps f32 activations ('never'; n > 1 with 'decode'): 2e-6·sum|w·x|
 *   against the oracle's dequantize-then-dot — f32 lane sums against a
 *   float64 sum (the oracle itself rounds w and x the same way).
 * - integer weights (Q8_0/Q4_0/Q4_K/Q6_K) at n = 1 with 'decode', every n
 *   with 'always' (the wasm default):
 *   the activations are quantized as ggml quantizes them (Q8_0 blocks of 32
 *   for Q8_0/Q4_0, Q8_K blocks of 256 for Q4_K/Q6_K). Checked, for every
 *   backend including scalar, against this file's own float64 statement of
 *   that math (quantizeQ8_0/quantizeQ8K below, then an exact dot) within
 *   2e-6·sum of |terms| (f32 roundings of the scales and sums); the
 *   emulated activations themselves must stay within the grid's half step
 *   of x, and src/tensor/q8.ts must produce the same codes bit for bit.
 *   The wasm kernels reproduce ggml's x86 f32 summation order for Q4_0,
 *   Q4_K and Q6_K, and Q8_0's own per-block order, as scalar-int.ts does, so
 *   at n = 1 they must equal the scalar backend with 'decode' exactly.
 * - Q8_0 and Q4_0 with quantized activations at n > 1 (prefill) must equal
 *   the same tokens' n = 1 results exactly: the integer prefill tile rounds
 *   per block as decode does.
 * - Every matmul and getRows case runs again on matrices the backend's
 *   adoptWeight re-laid out (wasm: rows interleaved in groups of 4 or 8,
 *   asm/packed.ts), at row counts with and without a plain tail: the same
 *   bounds, and the same exact equalities (packing changes where bytes are,
 *   never the arithmetic).
 * - getRows and add: bit-exact. Norms, RoPE, softmax, activations: ~1e-6
 *   relative (a few f32 roundings against float64), with tiny absolute
 *   floors where exp underflows differently (values < 1e-30); softmax also
 *   allows 2^-24·|x - max| relative for the f32 subtraction before exp.
 *   (RMSNorm now rounds step by step as ggml does on both backends, so
 *   they agree far inside that bound.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { attendHeadsReference } from '../src/kernels/attention.js';
import { ropeSpec } from '../src/kernels/rope.js';
import { ScalarOps, scalarOps } from '../src/kernels/scalar.js';
import { quantizesActivations, type Ops, type Q8Activations, type WeightMatrix } from '../src/kernels/types.js';
import { createWasmOps, WasmOps } from '../src/kernels/wasm/index.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType, rowBytes } from '../src/tensor/dtype.js';
import { f16ToF32, f32ToF16 } from '../src/tensor/half.js';
import { quantizeActQ8_0, quantizeActQ8K } from '../src/tensor/q8.js';
import { dequantize, quantize } from '../src/tensor/quant.js';

const rng = new SeededRng(2024);
const rand = (n: number, scale = 1) => Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * scale);

/** llm.c check_tensor: every element within tol(i), else report the first misses and the worst. */
function check(label: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: (i: number) => number): void {
  assert.equal(ours.length, ref.length, `${label}: length`);
  const bad: string[] = [];
  let worst = 0;
  let at = -1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(ours[i]! - ref[i]!);
    const ok = d <= tol(i) || (Number.isNaN(ours[i]!) && Number.isNaN(ref[i]!)) || ours[i] === ref[i];
    if (!ok && bad.length < 5) bad.push(`[${i}] ours ${ours[i]} ref ${ref[i]} |diff| ${d.toExponential(2)} > ${tol(i).toExponential(2)}`);
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  assert.equal(bad.length, 0, `${label}: ${bad.join('; ')}; max |diff| ${worst} at ${at}`);
}

interface Backend {
  readonly name: string;
  ops?: Ops;
  readonly make: () => Promise<Ops>;
  /** The backend's q8Activations: when its integer matmuls quantize activations. */
  readonly q8: Q8Activations;
}

const BACKENDS: Backend[] = [
  { name: 'scalar', make: async () => scalarOps, q8: 'never' },
  { name: 'scalar, q8 decode', make: async () => new ScalarOps({ q8Activations: 'decode' }), q8: 'decode' },
  { name: 'scalar, q8 always', make: async () => new ScalarOps({ q8Activations: 'always' }), q8: 'always' },
  { name: 'wasm x1', make: () => createWasmOps({ threads: 1 }), q8: 'always' },
  // minParallelWork 0: even these small matmuls go through the thread pool.
  { name: 'wasm x2', make: () => createWasmOps({ threads: 2, minParallelWork: 0 }), q8: 'always' },
  { name: 'wasm x2, q8 decode', make: () => createWasmOps({ threads: 2, minParallelWork: 0, q8Activations: 'decode' }), q8: 'decode' },
  { name: 'wasm x1, q8 never', make: () => createWasmOps({ threads: 1, q8Activations: 'never' }), q8: 'never' },
  // The entries above run the default build ('auto': the relaxed-SIMD one where the engine has it, as here on Node 20); these the plain SIMD128 one.
  { name: 'wasm x1, simd build', make: () => createWasmOps({ threads: 1, simd: 'simd' }), q8: 'always' },
  { name: 'wasm x2, simd build', make: () => createWasmOps({ threads: 2, minParallelWork: 0, simd: 'simd' }), q8: 'always' },
];
/** The oracle of the integer path at n = 1 (bit-exact for Q4_0, Q4_K, Q6_K). */
const scalarDecode = new ScalarOps({ q8Activations: 'decode' });

/** A copy of `a` in the backend's memory, or a plain array. */
function place(ops: Ops, a: Float32Array, own: boolean): Float32Array {
  if (!own) return Float32Array.from(a);
  const b = ops.allocF32(a.length);
  b.set(a);
  return b;
}

/** A random matrix; `adopt` hands it to the backend's adoptWeight (which needs it in backend memory). */
function weights(ops: Ops, type: GgmlType, rows: number, cols: number, own: boolean, adopt = false): { w: WeightMatrix; dense: Float32Array; plain: WeightMatrix } {
  const q = quantize(type, rand(rows * cols));
  const data = own || adopt ? ops.alloc(q.length) : q;
  if (own || adopt) data.set(q);
  const dense = new Float32Array(rows * cols);
  dequantize(type, q, 0, dense, 0, rows * cols);
  const plain: WeightMatrix = { name: `w.${GgmlType[type]}`, type, rows, cols, data: Uint8Array.from(q) };
  const w: WeightMatrix = { ...plain, data };
  return { w: adopt && ops.adoptWeight !== undefined ? ops.adoptWeight(w) : w, dense, plain };
}

/** Round half to even (ggml's nearest_int, x86's _mm256_round_ps). */
function nearestEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * ggml's activation quantizers, stated again from ggml-cpu (x86
 * quantize_row_q8_0; quantize_row_q8_K_ref), in f32 steps: codes and the
 * per-block scale the dot product uses.
 */
function quantizeQ8_0(x: Float32Array): { q: Int8Array; d: Float64Array } {
  const q = new Int8Array(x.length);
  const d = new Float64Array(x.length / 32);
  for (let b = 0; b < x.length / 32; b++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[32 * b + j]!));
    d[b] = f16ToF32(f32ToF16(Math.fround(amax / 127))); // stored as fp16, used as stored
    const id = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let j = 0; j < 32; j++) q[32 * b + j] = nearestEven(Math.fround(x[32 * b + j]! * id));
  }
  return { q, d };
}

function quantizeQ8K(x: Float32Array): { q: Int8Array; d: Float64Array } {
  const q = new Int8Array(x.length);
  const d = new Float64Array(x.length / 256);
  for (let b = 0; b < x.length / 256; b++) {
    const blk = x.subarray(256 * b, 256 * b + 256);
    const amax = Math.max(...Array.from(blk, Math.abs));
    const max = blk.find((v) => Math.abs(v) === amax)!; // the first, with its sign
    const iscale = amax > 0 ? Math.fround(-127 / max) : 0;
    d[b] = amax > 0 ? Math.fround(1 / iscale) : 0;
    for (let j = 0; j < 256; j++) q[256 * b + j] = Math.min(127, nearestEven(Math.fround(iscale * blk[j]!)));
  }
  return { q, d };
}

const K_QUANTS = new Set([GgmlType.Q4_K, GgmlType.Q6_K]);

/** Activations as the integer path sees them, dequantized exactly (float64), plus each one's grid bound. */
function quantizedActivations(type: GgmlType, x: Float32Array): { xq: Float64Array; bound: Float64Array } {
  const k = K_QUANTS.has(type);
  const block = k ? 256 : 32;
  const { q, d } = k ? quantizeQ8K(x) : quantizeQ8_0(x);
  // src/tensor/q8.ts (the backends' reference) must agree bit for bit.
  const q2 = new Int8Array(x.length);
  const d2 = new Float32Array(x.length / block);
  (k ? quantizeActQ8K : quantizeActQ8_0)(x, 0, x.length, q2, 0, d2, 0);
  assert.deepEqual(Array.from(q2), Array.from(q), `${GgmlType[type]}: q8.ts codes`);
  assert.deepEqual(Array.from(d2), Array.from(d), `${GgmlType[type]}: q8.ts scales`);
  const xq = new Float64Array(x.length);
  const bound = new Float64Array(x.length);
  for (let b = 0; b < x.length / block; b++) {
    let amax = 0;
    for (let j = 0; j < block; j++) amax = Math.max(amax, Math.abs(x[block * b + j]!));
    for (let j = 0; j < block; j++) {
      const i = block * b + j;
      xq[i] = q[i]! * d[b]!;
      // Half a step of amax/127, plus what rounding the step (Q8_0: to fp16, coarse for tiny amax) moved the code.
      bound[i] = (amax / 254) * 1.0001 + Math.abs(q[i]!) * Math.abs(d[b]! - amax / 127);
    }
  }
  return { xq, bound };
}

/**
 * The integer path must equal "quantize the activations as ggml does, then
 * an exact dot" — checked tightly, so a kernel bug cannot hide inside the
 * activations' rounding. Returns the emulated result.
 */
function checkIntegerPath(label: string, out: Float32Array, w: WeightMatrix, dense: Float32Array, x: Float32Array, n: number): void {
  const { rows, cols } = w;
  const ref = new Float64Array(n * rows);
  const mag = new Float64Array(n * rows);
  for (let t = 0; t < n; t++) {
    const xt = x.subarray(t * cols, (t + 1) * cols);
    const { xq, bound } = quantizedActivations(w.type, xt);
    for (let c = 0; c < cols; c++) assert.ok(Math.abs(xq[c]! - xt[c]!) <= bound[c]!, `activation ${c} off its grid: ${xq[c]} vs ${xt[c]}`);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      let a = 0;
      for (let c = 0; c < cols; c++) {
        const p = dense[r * cols + c]! * xq[c]!;
        s += p;
        a += Math.abs(p);
      }
      ref[t * rows + r] = s;
      mag[t * rows + r] = a;
    }
  }
  check(`${label} (ggml integer path)`, out, ref, (i) => 2e-6 * mag[i]! + 1e-30);
}

/** Random activations with the awkward cases in the first token: a zero block, fp16-subnormal scales, a ± tie. */
function activations(type: GgmlType, n: number, cols: number): Float32Array {
  const x = rand(n * cols, 2);
  if (cols >= 96) {
    x.fill(0, 32, 64);
    for (let c = 64; c < 96; c++) x[c] = x[c]! * 1e-4; // d = amax/127 below 2^-14
  }
  if (K_QUANTS.has(type)) {
    x[3] = -2.5; // the largest |x| twice, opposite signs: ggml takes the first
    x[200] = 2.5;
  }
  return x;
}

const FLOAT = new Set([GgmlType.F32, GgmlType.F16, GgmlType.BF16]);
const CASES: [GgmlType, number[]][] = [
  [GgmlType.F32, [67, 96]],
  [GgmlType.F16, [67, 96]],
  [GgmlType.BF16, [67, 96]],
  [GgmlType.Q8_0, [96, 160]],
  [GgmlType.Q4_0, [96, 160]],
  [GgmlType.Q4_K, [512]],
  [GgmlType.Q6_K, [512]],
];

for (const be of BACKENDS) {
  describe(`kernel conformance: ${be.name}`, () => {
    before(async () => {
      be.ops = await be.make();
    });
    after(async () => {
      if (be.ops instanceof WasmOps) await be.ops.close();
    });
    const ops = () => be.ops!;

    for (const [type, colsList] of CASES) {
      for (const adopt of [false, true]) {
        // Packed groups are 4 or 8 rows: 37 leaves a plain tail, 40 none.
        const rowsList = adopt ? [4, 37, 40] : [1, 3, 37];
        test(`matmul ${GgmlType[type]}${adopt ? ' (adopted layout)' : ''}: rows ${rowsList.join('/')}, n 1/2/5, cols ${colsList.join('/')}`, () => {
          for (const cols of colsList) {
            for (const rows of rowsList) {
              for (const n of [1, 2, 5]) {
                const own = (rows + n) % 2 === 0;
                const label = `${GgmlType[type]} rows ${rows} cols ${cols} n ${n}${adopt ? ' adopted' : ''}`;
                const { w, dense, plain } = weights(ops(), type, rows, cols, own, adopt);
                const x = activations(type, n, cols);
                const out = place(ops(), rand(n * rows), own);
                ops().matmul(out, w, place(ops(), x, !own), n);
                if (!FLOAT.has(type) && quantizesActivations(be.q8, n)) {
                  checkIntegerPath(label, out, w, dense, x, n);
                  if (n > 1 && (type === GgmlType.Q8_0 || type === GgmlType.Q4_0)) {
                    // Batched (prefill) rounds as decode does, so a token's output does not depend on its batch.
                    const one = new Float32Array(rows);
                    for (let t = 0; t < n; t++) {
                      ops().matmul(one, w, x.subarray(t * cols, (t + 1) * cols), 1);
                      check(`${label} token ${t} (batch equals decode)`, out.subarray(t * rows, (t + 1) * rows), one, () => 0);
                    }
                  }
                  if (n === 1) {
                    const ref = new Float32Array(rows);
                    scalarDecode.matmul(ref, plain, x, 1);
                    check(`${label} (same f32 summation as scalar)`, out, ref, () => 0);
                  }
                  continue;
                }
                const ref = new Float32Array(n * rows);
                scalarOps.matmul(ref, plain, x, n);
                check(label, out, ref, (i) => {
                  const t = Math.floor(i / rows);
                  const r = i % rows;
                  let abs = 0;
                  for (let c = 0; c < cols; c++) abs += Math.abs(dense[r * cols + c]! * x[t * cols + c]!);
                  return 2e-6 * abs + 1e-30;
                });
              }
            }
          }
        });
      }
    }

    test('matmul with every argument outside the backend memory (copy in/out path)', () => {
      const { w } = weights(scalarOps, GgmlType.Q8_0, 19, 64, false);
      const x = rand(3 * 64);
      const ref = new Float32Array(3 * 19);
      new ScalarOps({ q8Activations: be.q8 }).matmul(ref, w, x, 3);
      const out = new Float32Array(3 * 19);
      ops().matmul(out, { ...w, data: Uint8Array.from(w.data) }, x, 3);
      check('foreign', out, ref, () => 0.05);
    });

    test('getRows is bit-exact for every type (plain and adopted layouts) and rejects bad ids', () => {
      for (const [type, colsList] of CASES) {
        for (const adopt of [false, true]) {
          const cols = colsList[0]!;
          const { w, plain } = weights(ops(), type, 11, cols, true, adopt);
          const ids = [0, 10, 3, 3, 7, 8];
          const ref = new Float32Array(ids.length * cols);
          scalarOps.getRows(ref, plain, ids);
          for (const own of [true, false]) {
            const out = place(ops(), rand(ids.length * cols), own);
            ops().getRows(out, w, ids);
            check(`getRows ${GgmlType[type]}${adopt ? ' adopted' : ''}`, out, ref, () => 0);
          }
          assert.throws(() => ops().getRows(new Float32Array(cols), w, [11]), { code: 'TOKEN_OUT_OF_RANGE' });
          assert.throws(() => ops().getRows(new Float32Array(cols), w, [-1]), { code: 'TOKEN_OUT_OF_RANGE' });
        }
      }
    });

    test('float matvec: the adopted (packed) layout gives the plain layout\'s bits (odd and even group counts, both streams)', () => {
      // asm/packed.ts reads two groups per pass and sums in float.ts's order; a layout must never change a bit.
      for (const type of [GgmlType.F32, GgmlType.F16, GgmlType.BF16]) {
        for (const [rows, cols] of [[4, 64], [36, 72], [40, 256], [43, 32]] as const) {
          const x = place(ops(), rand(cols, 3), true);
          const { w: plainW } = weights(ops(), type, rows, cols, true, false);
          const data = ops().alloc(plainW.data.length);
          data.set(plainW.data);
          const packedW = ops().adoptWeight?.({ ...plainW, data }) ?? plainW;
          if (ops().adoptWeight !== undefined) assert.ok(packedW.layout !== undefined, `${GgmlType[type]} ${rows}x${cols} is packed`);
          const a = new Float32Array(rows);
          const b = new Float32Array(rows);
          ops().matmul(a, plainW, x, 1);
          ops().matmul(b, packedW, x, 1);
          check(`${GgmlType[type]} ${rows}x${cols} packed vs plain`, b, a, () => 0);
        }
      }
    });

    test('a matrix with an inf block scale is left in ggml\'s layout and still computes as the oracle', () => {
      for (const type of [GgmlType.Q8_0, GgmlType.Q4_0]) {
        const rows = 16, cols = 64;
        const q = quantize(type, rand(rows * cols));
        const bb = type === GgmlType.Q8_0 ? 34 : 18;
        q[5 * (cols / 32) * bb] = 0x00; // row 5, block 0: scale = +inf (0x7c00)
        q[5 * (cols / 32) * bb + 1] = 0x7c;
        const data = ops().alloc(q.length);
        data.set(q);
        const w0: WeightMatrix = { name: 'inf', type, rows, cols, data };
        const w = ops().adoptWeight?.(w0) ?? w0;
        assert.equal(w.layout, undefined, 'not packed');
        const x = activations(type, 1, cols);
        const out = new Float32Array(rows);
        ops().matmul(out, w, x, 1);
        const ref = new Float32Array(rows);
        (be.q8 === 'never' ? scalarOps : scalarDecode).matmul(ref, { ...w0, data: Uint8Array.from(q) }, x, 1);
        // Exact on the integer path; f32 panels ('never') within the usual f32-vs-f64 rounding.
        const tol = be.q8 === 'never' ? 1e-5 : 0;
        for (let r = 0; r < rows; r++) {
          const ok = Object.is(out[r], ref[r]) || Math.abs(out[r]! - ref[r]!) <= tol * Math.max(1, Math.abs(ref[r]!));
          assert.ok(ok, `row ${r}: ${out[r]} vs ${ref[r]}`);
        }
        assert.ok(!Number.isFinite(out[5]!), `row 5 meets the inf scale: ${out[5]}`);
      }
      // F16 weights: an inf value keeps the matrix in ggml's layout too.
      const h = quantize(GgmlType.F16, rand(16 * 64));
      h[2 * (5 * 64 + 3)] = 0x00;
      h[2 * (5 * 64 + 3) + 1] = 0x7c;
      const hd = ops().alloc(h.length);
      hd.set(h);
      const wh: WeightMatrix = { name: 'inf16', type: GgmlType.F16, rows: 16, cols: 64, data: hd };
      assert.equal((ops().adoptWeight?.(wh) ?? wh).layout, undefined, 'F16 with an inf is not packed');
    });

    test('a matrix adopted by one backend is refused by another, with a typed error', () => {
      const { w } = weights(ops(), GgmlType.Q8_0, 8, 64, true, true);
      if (w.layout === undefined) return; // this backend keeps ggml's layout: nothing to refuse
      assert.ok(w.layout === 'wasm-interleaved' || w.layout === 'wasm-interleaved-relaxed', String(w.layout));
      assert.throws(() => scalarOps.matmul(new Float32Array(8), w, new Float32Array(64), 1), { code: 'WEIGHT_LAYOUT' });
      assert.throws(() => scalarOps.getRows(new Float32Array(64), w, [0]), { code: 'WEIGHT_LAYOUT' });
      assert.throws(() => ops().matmul(new Float32Array(8), { ...w, layout: 'other' }, new Float32Array(64), 1), { code: 'WEIGHT_LAYOUT' });
    });

    test('unsupported weight types are a typed error', () => {
      const w: WeightMatrix = { name: 'q5', type: GgmlType.Q5_0, rows: 2, cols: 32, data: new Uint8Array(2 * rowBytes(GgmlType.Q5_0, 32)) };
      assert.throws(() => ops().matmul(new Float32Array(2), w, new Float32Array(32), 1), { code: 'UNSUPPORTED_TENSOR_TYPE' });
    });

    test('rmsnorm and layernorm (d 67, n 3; with and without weight/bias)', () => {
      const d = 67;
      const n = 3;
      const x = rand(n * d, 3);
      const wt = rand(d, 2);
      const bias = rand(d);
      const ref = new Float32Array(n * d);
      scalarOps.rmsnorm(ref, x, wt, 1e-5, n);
      const out = place(ops(), new Float32Array(n * d), true);
      ops().rmsnorm(out, place(ops(), x, true), wt, 1e-5, n);
      check('rmsnorm', out, ref, (i) => 1e-6 * Math.abs(ref[i]!) + 1e-12);
      for (const [w, b] of [[wt, bias], [wt, undefined], [undefined, bias], [undefined, undefined]] as const) {
        scalarOps.layernorm(ref, x, w, b, 1e-5, n);
        const o2 = place(ops(), new Float32Array(n * d), false);
        ops().layernorm(o2, place(ops(), x, true), w, b, 1e-5, n);
        check(`layernorm w=${w !== undefined} b=${b !== undefined}`, o2, ref, (i) => 1e-6 * (Math.abs(ref[i]!) + Math.abs(b?.[i % d] ?? 0) + 1) * 2);
      }
    });

    test('rope: both styles, partial dims, odd offsets, positions up to millions', () => {
      for (const style of ['adjacent', 'halves'] as const) {
        for (const [headDim, dims] of [[20, 12], [64, 64], [18, 10]] as const) {
          const spec = ropeSpec({ style, dims, base: 10000 });
          for (const pos of [0, 1, 37, 4093, 1_000_003.5]) {
            const nHeads = 3;
            const off = 5;
            const x0 = rand(off + nHeads * headDim + 4, 2);
            const ref = Float32Array.from(x0);
            scalarOps.rope(ref, off, nHeads, headDim, pos, spec);
            for (const own of [true, false]) {
              const y = place(ops(), x0, own);
              ops().rope(y, off, nHeads, headDim, pos, spec);
              check(`rope ${style} ${headDim}/${dims} pos ${pos}`, y, ref, () => 1e-6 * 4);
            }
          }
          // n consecutive tokens in one call: the same as token by token (bit for bit on one backend), and the oracle's.
          const n = 7, nHeads = 2, off = 3, row = nHeads * headDim;
          const x0 = rand(off + n * row + 2, 2);
          const one = place(ops(), x0, true);
          for (let t = 0; t < n; t++) ops().rope(one, off + t * row, nHeads, headDim, 4090 + t, spec);
          const batch = place(ops(), x0, true);
          ops().ropeBatch(batch, off, nHeads, headDim, 4090, spec, n);
          check(`rope ${style} ${headDim}/${dims} x${n}`, batch, one, () => 0);
          const ref = Float32Array.from(x0);
          scalarOps.ropeBatch(ref, off, nHeads, headDim, 4090, spec, n);
          check(`rope ${style} ${headDim}/${dims} x${n} vs scalar`, batch, ref, () => 1e-6 * 4);
        }
      }
    });

    test('add is exact; swiglu and gelu within 2e-6 relative', () => {
      const n = 1003;
      const a = rand(n, 4);
      const b = rand(n, 4);
      const ref = Float32Array.from(a);
      scalarOps.add(ref, b, n);
      const y = place(ops(), a, true);
      ops().add(y, place(ops(), b, false), n);
      check('add', y, ref, () => 0);

      const g = rand(n, 12);
      g[0] = -100;
      g[1] = 100;
      g[2] = 0;
      const up = rand(n, 3);
      const sref = Float32Array.from(g);
      scalarOps.swiglu(sref, up, n);
      const gs = place(ops(), g, false);
      ops().swiglu(gs, place(ops(), up, true), n);
      check('swiglu', gs, sref, (i) => 2e-6 * Math.abs(sref[i]!) + 1e-30);

      const v = rand(n, 8);
      v[0] = -20;
      v[1] = 20;
      const gref = Float32Array.from(v);
      scalarOps.gelu(gref, n);
      const gv = place(ops(), v, true);
      ops().gelu(gv, n);
      check('gelu', gv, gref, (i) => 2e-6 * Math.abs(gref[i]!) + 1e-12);
    });

    test('dotRows and axpyRows (count 37, d 67, stride 70, offsets)', () => {
      const count = 37;
      const d = 67;
      const stride = 70;
      const keys = rand(9 + count * stride, 2);
      const q = rand(3 + d, 2);
      const scale = 0.125;
      const ref = rand(2 + count);
      scalarOps.dotRows(ref, 2, q, 3, keys, 9, stride, count, d, scale);
      for (const own of [true, false]) {
        const s = place(ops(), rand(2 + count), own);
        s.set(ref.subarray(0, 2));
        ops().dotRows(s, 2, place(ops(), q, own), 3, place(ops(), keys, !own), 9, stride, count, d, scale);
        check('dotRows', s, ref, (j) => {
          if (j < 2) return 0;
          let a = 0;
          for (let i = 0; i < d; i++) a += Math.abs(q[3 + i]! * keys[9 + (j - 2) * stride + i]!);
          return 2e-6 * a * scale + 1e-30;
        });
      }
      const w = rand(4 + count);
      const out0 = rand(1 + d + 2);
      const aref = Float32Array.from(out0);
      scalarOps.axpyRows(aref, 1, w, 4, keys, 9, stride, count, d);
      for (const own of [true, false]) {
        const o = place(ops(), out0, own);
        ops().axpyRows(o, 1, place(ops(), w, !own), 4, place(ops(), keys, own), 9, stride, count, d);
        check('axpyRows', o, aref, (i) => {
          if (i < 1 || i > d) return 0;
          let a = Math.abs(out0[i]!);
          for (let j = 0; j < count; j++) a += Math.abs(w[4 + j]! * keys[9 + j * stride + i - 1]!);
          return 2e-6 * a;
        });
      }
    });

    test('attendHeads: GQA, ALiBi, several runs (token- and head-major), equals the per-head reference', () => {
      // 8 query heads over 2 kv heads, d 20; runs: a (kvHeads, 50, d) store and a (n, kvHeads, d) batch.
      const nHeads = 8, kvHeads = 2, d = 20;
      const store = rand(kvHeads * 50 * d);
      const storeV = rand(kvHeads * 50 * d);
      const batch = rand(9 * kvHeads * d);
      const batchV = rand(9 * kvHeads * d);
      const q = rand(3 + nHeads * d);
      const slopes = Float32Array.from({ length: nHeads }, (_, h) => 2 ** (-(h + 1)));
      for (const alibi of [false, true]) {
        const shape = { nHeads, kvHeads, headDim: d, scale: 0.3, ...(alibi ? { alibiSlopes: slopes } : {}) };
        for (const own of [true, false]) {
          const runs = [
            { keys: place(ops(), store, own), values: place(ops(), storeV, own), offset: 3 * d, headStride: 50 * d, rowStride: d, count: 41, firstDistance: 47 },
            { keys: place(ops(), batch, !own), values: place(ops(), batchV, !own), offset: 2 * kvHeads * d, headStride: d, rowStride: kvHeads * d, count: 0, firstDistance: 6 },
            { keys: place(ops(), batch, !own), values: place(ops(), batchV, !own), offset: 2 * kvHeads * d, headStride: d, rowStride: kvHeads * d, count: 7, firstDistance: 6 },
          ];
          const qq = place(ops(), q, own);
          const out = place(ops(), rand(5 + nHeads * d), !own);
          const ref = Float32Array.from(out);
          ops().attendHeads(out, 5, qq, 3, runs, runs.length, shape);
          // The same backend's dotRows/softmax/axpyRows, head by head: fused must be bit-identical.
          attendHeadsReference(ops(), ref, 5, qq, 3, runs, runs.length, shape, new Float32Array(48));
          check(`attendHeads${alibi ? ' alibi' : ''}`, out, ref, () => 0);
          // And close to the float64 oracle.
          const oracle = Float32Array.from(out);
          scalarOps.attendHeads(oracle, 5, Float32Array.from(q), 3, runs, runs.length, shape);
          check(`attendHeads vs scalar${alibi ? ' alibi' : ''}`, out, oracle, (i) => 2e-5 * Math.max(1, Math.abs(oracle[i]!)));
        }
      }
    });

    test('attendBatch (where the backend has it): 23 tokens, padded runs, GQA and ALiBi, equals attendHeads token by token', () => {
      const o = ops();
      if (o.attendBatch === undefined) return; // the scalar backend: callers loop over attendHeads (cache/attend.ts)
      const nHeads = 6, kvHeads = 3, d = 36, n = 23;
      const store = place(o, rand(60 * kvHeads * d), true);
      const storeV = place(o, rand(60 * kvHeads * d), true);
      const slopes = Float32Array.from({ length: nHeads }, (_, h) => 2 ** (-(h + 1)));
      for (const alibi of [false, true]) {
        const shape = { nHeads, kvHeads, headDim: d, scale: 0.2, ...(alibi ? { alibiSlopes: slopes } : {}) };
        // Token t: a causal run over the store (30 + t keys) and a second run that is empty for even t.
        const runs = [];
        for (let t = 0; t < n; t++) {
          runs.push({ keys: store, values: storeV, offset: 0, headStride: d, rowStride: kvHeads * d, count: 30 + t, firstDistance: 30 + t });
          runs.push({ keys: store, values: storeV, offset: 2 * kvHeads * d, headStride: d, rowStride: kvHeads * d, count: t % 2 === 0 ? 0 : 5, firstDistance: 3 });
        }
        const q = place(o, rand(n * nHeads * d), true);
        const out = place(o, new Float32Array(n * nHeads * d), true);
        o.attendBatch(out, 0, q, 0, n, runs, 2, shape);
        const ref = new Float32Array(n * nHeads * d);
        for (let t = 0; t < n; t++) o.attendHeads(ref, t * nHeads * d, q, t * nHeads * d, runs.slice(2 * t, 2 * t + 2), 2, shape);
        check(`attendBatch${alibi ? ' alibi' : ''}`, out, ref, () => 0);
        assert.ok(ref.some((v) => v !== 0));
      }
      assert.throws(() => o.attendBatch!(new Float32Array(nHeads * d * 2), 0, new Float32Array(nHeads * d * 2), 0, 2, [], 1, { nHeads, kvHeads, headDim: d, scale: 1 }), { code: 'BAD_ARGUMENT' });
    });

    test('softmax: odd lengths, -Infinity entries, all -Infinity, far-apart values', () => {
      for (const n of [1, 5, 37, 1000]) {
        const x = rand(n + 3, 10);
        if (n > 4) {
          x[4] = -Infinity;
          x[5] = x[6]! - 95; // underflows to (almost) 0
        }
        const ref = Float32Array.from(x);
        scalarOps.softmax(ref, 3, n);
        const max = Math.max(...x.subarray(3, 3 + n));
        for (const own of [true, false]) {
          const y = place(ops(), x, own);
          ops().softmax(y, 3, n);
          // x - max is rounded in f32 (the oracle subtracts in float64): relative
          // error up to 2^-24·|x - max| on top of exp's few ulp.
          check(`softmax ${n}`, y, ref, (i) => (1e-6 + 6e-8 * Math.abs(x[i]! - max)) * Math.abs(ref[i]!) + 1e-37);
        }
      }
      const allInf = new Float32Array(7).fill(-Infinity);
      ops().softmax(allInf, 1, 5);
      assert.deepEqual(Array.from(allInf), [-Infinity, 0, 0, 0, 0, 0, -Infinity]);
    });
  });
}
