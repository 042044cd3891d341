/**
 * What the conformance suite cannot see: the wasm backend's memory (views
 * survive growth, freed blocks are reused and zeroed, the 4 GiB ceiling is a
 * typed error) and its threads (a worker that throws, exits or hangs gives
 * the caller a typed error, never a hang; close() ends the workers).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scalarOps } from '../src/kernels/scalar.js';
import type { WeightMatrix } from '../src/kernels/types.js';
import { createWasmOps, type WasmOps } from '../src/kernels/wasm/index.js';
import { StreamLlmError } from '../src/errors.js';
import { SeededRng } from '../src/sampling/rng.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { quantize } from '../src/tensor/quant.js';

const rng = new SeededRng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);

function f32Weights(ops: WasmOps, rows: number, cols: number): WeightMatrix {
  const q = quantize(GgmlType.F32, rand(rows * cols));
  const data = ops.alloc(q.length);
  data.set(q);
  return { name: 'w', type: GgmlType.F32, rows, cols, data };
}

function isWasmError(reason: string) {
  return (e: unknown) => e instanceof StreamLlmError && e.code === reason;
}

test('views stay valid and usable after the memory grows', async () => {
  const ops = await createWasmOps({ threads: 1 });
  const before = ops.memoryBytes;
  const x = ops.allocF32(64);
  x.set(rand(64));
  const copy = Float32Array.from(x);
  const w = f32Weights(ops, 8, 64);
  const big = ops.alloc(before + 32 * 1024 * 1024); // forces growth
  assert.ok(ops.memoryBytes > before, 'memory grew');
  big[big.length - 1] = 1;
  assert.deepEqual(Array.from(x), Array.from(copy), 'old view still sees its data');
  const out = ops.allocF32(8);
  ops.matmul(out, w, x, 1);
  const ref = new Float32Array(8);
  scalarOps.matmul(ref, w, copy, 1);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(out[i]! - ref[i]!) < 1e-5);
  await ops.close();
});

test('freed blocks are reused, zeroed, and do not grow the memory', async () => {
  const ops = await createWasmOps({ threads: 1 });
  const a = ops.allocF32(1000);
  a.fill(3);
  const used = ops.allocatedBytes;
  ops.free(a);
  assert.ok(ops.allocatedBytes < used);
  const b = ops.allocF32(1000);
  assert.equal(b.byteOffset, a.byteOffset, 'same block reused');
  assert.ok(b.every((v) => v === 0), 'reused block is zeroed');
  // A KV-cache-like grow: allocate bigger, copy, free the old one, repeatedly.
  let cache = ops.allocF32(256);
  const size0 = ops.memoryBytes;
  for (let cap = 512; cap <= 1 << 16; cap *= 2) {
    const next = ops.allocF32(cap);
    next.set(cache);
    ops.free(cache);
    cache = next;
  }
  assert.ok(ops.memoryBytes <= size0 + 4 * 2 * (1 << 16) + (16 << 20), 'no runaway growth');
  ops.free(cache.subarray(1)); // not the start of a block: ignored
  ops.free(new Float32Array(4)); // not ours: ignored
  await ops.close();
});

test('running out of the wasm memory is a typed error naming the limit', async () => {
  const ops = await createWasmOps({ threads: 1, maxMemoryBytes: 32 * 1024 * 1024 });
  ops.alloc(8 * 1024 * 1024);
  assert.throws(() => ops.alloc(40 * 1024 * 1024), isWasmError('WASM_MEMORY_LIMIT'));
  assert.throws(() => ops.allocF32(10 * 1024 * 1024), /do not fit in 32 MiB of WebAssembly memory/);
  ops.alloc(1024); // still usable after the failure
  await ops.close();
  const full = await createWasmOps({ threads: 1 });
  assert.throws(() => full.alloc(5 * 1024 ** 3), /do not fit in 4 GiB/);
  await full.close();
});

test('a worker that throws, exits or hangs gives a typed error, and the pool stays failed', async (t) => {
  for (const kind of ['throw', 'exit', 'hang'] as const) {
    await t.test(kind, async () => {
      const ops = await createWasmOps({ threads: 2, minParallelWork: 0, stallTimeoutMs: 300 });
      const w = f32Weights(ops, 64, 64);
      const x = ops.allocF32(64);
      const out = ops.allocF32(64);
      ops.matmul(out, w, x, 1); // healthy first
      const t0 = Date.now();
      assert.throws(() => ops.injectWorkerFault(kind), isWasmError('WORKER_FAILED'));
      assert.ok(Date.now() - t0 < 10_000, 'failed promptly');
      assert.throws(() => ops.matmul(out, w, x, 1), isWasmError('WORKER_FAILED'));
      // Single-threaded kernels still work, and close() ends the workers.
      ops.add(out, out, 64);
      await ops.close();
      assert.throws(() => ops.matmul(out, w, x, 1), { code: 'BAD_ARGUMENT' });
    });
  }
});

test('close() and [Symbol.dispose] terminate the workers; matmul afterwards is an error', async () => {
  const ops = await createWasmOps({ threads: 2, minParallelWork: 0 });
  const w = f32Weights(ops, 16, 32);
  const x = ops.allocF32(32);
  const out = ops.allocF32(16);
  ops.matmul(out, w, x, 1);
  ops[Symbol.dispose]();
  assert.throws(() => ops.matmul(out, w, x, 1), /closed/);
  await ops.close(); // idempotent
});

test('threads and memory options are validated', async () => {
  await assert.rejects(createWasmOps({ threads: 0 }), { code: 'BAD_ARGUMENT' });
  await assert.rejects(createWasmOps({ threads: 1.5 }), { code: 'BAD_ARGUMENT' });
  await assert.rejects(createWasmOps({ maxMemoryBytes: 2 ** 33 }), { code: 'BAD_ARGUMENT' });
});
