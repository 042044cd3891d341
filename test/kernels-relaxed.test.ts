/**
 * The two kernel builds (src/kernels/wasm/module.ts): how the variant is
 * chosen, that both compute the same bits on the one type whose code differs
 * between them (Q4_0: relaxed dots and a row-lane packed layout), and that a
 * matrix packed by one build is refused by the other, never misread. The
 * conformance suite runs every kernel on both builds against the oracle.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { WeightMatrix } from '../src/kernels/types.js';
import { createWasmOps, relaxedSimdSupported, resolveKernelVariant, type WasmOps } from '../src/kernels/wasm/index.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { quantize } from '../src/tensor/quant.js';

const rng = new SeededRng(11);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
const opened: WasmOps[] = [];
after(async () => {
  for (const o of opened) await o.close();
});

async function make(simd: 'simd' | 'relaxed', threads = 1): Promise<WasmOps> {
  const o = await createWasmOps({ threads, minParallelWork: 0, simd });
  opened.push(o);
  return o;
}

function adopt(ops: WasmOps, q: Uint8Array, rows: number, cols: number): WeightMatrix {
  const data = ops.alloc(q.length);
  data.set(q);
  const w: WeightMatrix = { name: 'q4', type: GgmlType.Q4_0, rows, cols, data };
  return ops.adoptWeight?.(w) ?? w;
}

test('variant choice: simd always resolves; auto takes relaxed exactly when the engine has it; bad env is a typed error', async () => {
  assert.equal(await resolveKernelVariant('simd'), 'simd');
  const has = await relaxedSimdSupported();
  assert.equal(await resolveKernelVariant('auto'), has ? 'relaxed' : 'simd');
  if (has) assert.equal(await resolveKernelVariant('relaxed'), 'relaxed');
  else await assert.rejects(resolveKernelVariant('relaxed'), { code: 'WASM_FEATURE_MISSING' });
  const saved = process.env.STREAMLLM_SIMD;
  try {
    process.env.STREAMLLM_SIMD = 'fast';
    await assert.rejects(resolveKernelVariant(), { code: 'BAD_ARGUMENT' });
    process.env.STREAMLLM_SIMD = 'simd';
    assert.equal(await resolveKernelVariant(), 'simd');
  } finally {
    if (saved === undefined) delete process.env.STREAMLLM_SIMD;
    else process.env.STREAMLLM_SIMD = saved;
  }
});

test('Q4_0: both builds give identical matvec, prefill and getRows bits (21 rows: packed groups plus plain rows)', async (t) => {
  if (!(await relaxedSimdSupported())) return t.skip('this engine has no relaxed SIMD');
  const rows = 21;
  const cols = 160;
  const q = quantize(GgmlType.Q4_0, rand(rows * cols));
  const x = rand(5 * cols);
  const results: { mv: Float32Array; mm: Float32Array; rowsOut: Float32Array; layout: string | undefined }[] = [];
  for (const [simd, threads] of [['simd', 1], ['relaxed', 1], ['relaxed', 2]] as const) {
    const ops = await make(simd, threads);
    const w = adopt(ops, q, rows, cols);
    const mv = new Float32Array(rows);
    ops.matmul(mv, w, x.subarray(0, cols), 1);
    const mm = new Float32Array(5 * rows);
    ops.matmul(mm, w, x, 5);
    const rowsOut = new Float32Array(3 * cols);
    ops.getRows(rowsOut, w, [0, 9, 20]);
    results.push({ mv, mm, rowsOut, layout: w.layout });
  }
  assert.equal(results[0]!.layout, 'wasm-interleaved');
  assert.equal(results[1]!.layout, 'wasm-interleaved-relaxed');
  for (const r of results.slice(1)) {
    assert.deepEqual(Array.from(r.mv), Array.from(results[0]!.mv), 'matvec');
    assert.deepEqual(Array.from(r.mm), Array.from(results[0]!.mm), 'prefill');
    assert.deepEqual(Array.from(r.rowsOut), Array.from(results[0]!.rowsOut), 'getRows');
  }
  assert.ok(results[0]!.mv.some((v) => v !== 0), 'the outputs are not trivially zero');
});

test('a matrix packed by the relaxed build is refused by the plain one (typed error), and the other way round', async (t) => {
  if (!(await relaxedSimdSupported())) return t.skip('this engine has no relaxed SIMD');
  const relaxed = await make('relaxed');
  const plain = await make('simd');
  const q = quantize(GgmlType.Q4_0, rand(8 * 64));
  const wr = adopt(relaxed, q, 8, 64);
  const wp = adopt(plain, q, 8, 64);
  assert.throws(() => plain.matmul(new Float32Array(8), wr, rand(64), 1), { code: 'WEIGHT_LAYOUT' });
  assert.throws(() => relaxed.getRows(new Float32Array(64), wp, [0]), { code: 'WEIGHT_LAYOUT' });
});

test('block scales at the edges (0, subnormal, negative, largest finite) give the oracle bits on both builds, Q4_0 and Q8_0', async () => {
  const { ScalarOps } = await import('../src/kernels/scalar.js');
  const oracle = new ScalarOps({ q8Activations: 'decode' });
  const rows = 16;
  const cols = 96;
  const edges = [0x0000, 0x0001, 0x03ff, 0x0400, 0x8001, 0xbc00, 0x7bff, 0xfbff, 0x3555];
  const x = rand(cols).map((v) => v * 3);
  for (const type of [GgmlType.Q4_0, GgmlType.Q8_0]) {
    const q = quantize(type, rand(rows * cols));
    const blockBytes = type === GgmlType.Q4_0 ? 18 : 34;
    // Every block's f16 scale replaced by one of the edge values, in turn.
    for (let b = 0; b < q.length / blockBytes; b++) {
      const h = edges[b % edges.length]!;
      q[b * blockBytes] = h & 0xff;
      q[b * blockBytes + 1] = h >> 8;
    }
    const ref = new Float32Array(rows);
    oracle.matmul(ref, { name: 'edge', type, rows, cols, data: q }, x, 1);
    const variants: ('simd' | 'relaxed')[] = (await relaxedSimdSupported()) ? ['simd', 'relaxed'] : ['simd'];
    for (const simd of variants) {
      const ops = await make(simd);
      const data = ops.alloc(q.length);
      data.set(q);
      const w0: WeightMatrix = { name: 'edge', type, rows, cols, data };
      const w = ops.adoptWeight?.(w0) ?? w0;
      assert.ok(w.layout !== undefined, 'finite scales: the matrix is packed');
      const out = new Float32Array(rows);
      ops.matmul(out, w, x, 1);
      for (let r = 0; r < rows; r++) assert.ok(Object.is(out[r], ref[r]), `${GgmlType[type]} ${simd} row ${r}: ${out[r]} vs ${ref[r]}`);
    }
    assert.ok(ref.some((v) => v !== 0), 'not all zero');
  }
});
