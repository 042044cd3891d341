/**
 * What the wasm backend does to make a prefill batch cheaper must not change
 * a bit: Ops.matmul's `sameInput` reuses the activations it quantized for
 * the previous call on the same input (the Q, K and V projections of one
 * batch), and a long swiglu is split across the threads.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { WeightMatrix } from '../src/kernels/types.js';
import { createWasmOps, type WasmOps } from '../src/kernels/wasm/index.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { quantize } from '../src/tensor/quant.js';

const rng = new SeededRng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
const opened: WasmOps[] = [];
after(async () => {
  for (const o of opened) await o.close();
});

function weight(ops: WasmOps, type: GgmlType, rows: number, cols: number): WeightMatrix {
  const bytes = type === GgmlType.F32 ? new Uint8Array(rand(rows * cols).buffer) : quantize(type, rand(rows * cols));
  const data = ops.alloc(bytes.length);
  data.set(bytes);
  const w: WeightMatrix = { name: `w${type}`, type, rows, cols, data };
  return ops.adoptWeight?.(w) ?? w;
}

test('sameInput with K-quant weights (the Q8_K grid, widened back to f32 for prefill panels) reuses bit for bit', async () => {
  const ops = await createWasmOps({ threads: 2, minParallelWork: 0 });
  opened.push(ops);
  const n = 9, cols = 256;
  const wa = weight(ops, GgmlType.Q4_K, 24, cols);
  const wb = weight(ops, GgmlType.Q6_K, 16, cols);
  const x = ops.allocF32(n * cols);
  x.set(rand(n * cols));
  const a = ops.allocF32(n * 24);
  const b = ops.allocF32(n * 16);
  ops.matmul(a, wa, x, n);
  ops.matmul(b, wb, x, n, true);
  const freshB = new Float32Array(n * 16);
  ops.matmul(freshB, wb, x, n);
  assert.deepEqual(Float32Array.from(b), freshB);
  const freshA = new Float32Array(n * 24);
  ops.matmul(freshA, wa, x, n);
  assert.deepEqual(Float32Array.from(a), freshA);
});

for (const n of [1, 13]) {
  test(`sameInput reuses the quantized activations bit for bit, and nothing stale survives a call without it (n ${n})`, async () => {
    const ops = await createWasmOps({ threads: 2, minParallelWork: 0 });
    opened.push(ops);
    const cols = 96;
    const wq = weight(ops, GgmlType.Q8_0, 40, cols);
    const wk = weight(ops, GgmlType.Q4_0, 24, cols);
    const wf = weight(ops, GgmlType.F32, 16, cols);
    const x = ops.allocF32(n * cols);
    x.set(rand(n * cols));
    const fresh = (w: WeightMatrix) => {
      const o = new Float32Array(n * w.rows);
      ops.matmul(o, w, x, n);
      return o;
    };
    const a = ops.allocF32(n * 40);
    const b = ops.allocF32(n * 24);
    ops.matmul(a, wq, x, n);
    ops.matmul(b, wk, x, n, true);
    assert.deepEqual(Float32Array.from(a), fresh(wq));
    assert.deepEqual(Float32Array.from(b), fresh(wk));
    // New contents: a call without the promise (here on F32 weights, which quantize nothing) drops the old codes.
    x.set(rand(n * cols));
    ops.matmul(ops.allocF32(n * 16), wf, x, n);
    const c = ops.allocF32(n * 40);
    ops.matmul(c, wq, x, n, true);
    assert.deepEqual(Float32Array.from(c), fresh(wq));
    assert.notDeepEqual(Float32Array.from(c), Float32Array.from(a));
  });
}

test('swiglu split across threads (a prefill-sized input) gives the single-thread bits', async () => {
  const one = await createWasmOps({ threads: 1 });
  const two = await createWasmOps({ threads: 2 });
  opened.push(one, two);
  const n = 100_003; // past the split threshold, not a multiple of the chunk or of 4
  const gate = Float32Array.from({ length: n }, () => (rng.nextFloat() * 2 - 1) * 8);
  const up = rand(n);
  const a = one.allocF32(n);
  a.set(gate);
  one.swiglu(a, up, n);
  const b = two.allocF32(n);
  b.set(gate);
  const upB = two.allocF32(n);
  upB.set(up);
  two.swiglu(b, upB, n);
  assert.deepEqual(Float32Array.from(b), Float32Array.from(a));
  // A sleeping worker may wake after the main thread took every chunk of one call; over a few calls it takes some.
  for (let i = 0; i < 20 && two.parallelStats().allChunks === two.parallelStats().mainChunks; i++) two.swiglu(two.allocF32(n), upB, n);
  assert.ok(two.parallelStats().allChunks > two.parallelStats().mainChunks, 'the worker took a share');
});
