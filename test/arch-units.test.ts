/**
 * Every architecture without llama.cpp: GGUF hparams round-trip through
 * loadModel's dispatch, every cache policy runs the forward pass unchanged,
 * ggml's ALiBi slopes and fp16 GELU are reproduced, and unsupported variants
 * or inconsistent files get typed errors naming the field or tensor.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { CacheOptions } from '../src/cache/registry.js';
import { writeRandomModel } from '../src/convert/random.js';
import { StreamLlmError } from '../src/errors.js';
import { GgufFile, gv, writeGguf, type GgufEntry, type GgufWriterTensor } from '../src/formats/gguf/index.js';
import { scalarOps } from '../src/kernels/scalar.js';
import { alibiSlopes } from '../src/models/layers/alibi.js';
import { f16BitsToF32, f32ToF16Bits, geluGgml } from '../src/models/layers/gelu.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { Session } from '../src/runtime/session.js';
import { openOurs } from './helpers/arch-oracle.js';
import { maxAbsDiff } from './helpers/compare.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const common = { vocabSize: 96, dim: 48, layers: 2, nHeads: 6, kvHeads: 6, headDim: 8, ffnDim: 80, contextLength: 64, normEps: Math.fround(1e-5) } as const; // f32 in GGUF
const rope = (style: 'adjacent' | 'halves', dims = 8) => ({ base: 10000, dims, style, freqScale: 1 }) as const;

const MODELS: Record<string, Hparams> = {
  llama: { arch: 'llama', ...common, kvHeads: 2, rope: rope('adjacent') },
  mistral: { arch: 'llama', ...common, kvHeads: 3, rope: { ...rope('adjacent'), base: 1e6 }, slidingWindow: 16 },
  qwen2: { arch: 'qwen2', ...common, kvHeads: 2, rope: rope('halves'), qkvBias: true },
  gptneox: { arch: 'gptneox', ...common, rope: rope('halves', 4), parallelResidual: true },
  'gptneox-seq': { arch: 'gptneox', ...common, rope: rope('halves', 2), parallelResidual: false },
  'falcon-7b': { arch: 'falcon', ...common, kvHeads: 1, rope: rope('halves'), separateAttnNorm: false },
  'falcon-40b': { arch: 'falcon', ...common, kvHeads: 3, rope: rope('halves'), separateAttnNorm: true },
  mpt: { arch: 'mpt', ...common, alibiMaxBias: 8, clampKqv: 0.5, bias: false },
  'mpt-bias': { arch: 'mpt', ...common, alibiMaxBias: 8, clampKqv: undefined, bias: true },
  'mpt-nopos': { arch: 'mpt', ...common, alibiMaxBias: 0, clampKqv: undefined, bias: false },
};

const path = (name: string) => join(dir, `${name}.gguf`);
for (const [name, hp] of Object.entries(MODELS)) writeRandomModel(path(name), { hparams: hp, seed: 5, logitScale: 3 });
const stream = Array.from({ length: 90 }, (_, i) => (i * 37 + 11) % common.vocabSize);

function expectCode(fn: () => unknown, code: string, mention?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StreamLlmError, `expected StreamLlmError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (mention !== undefined) assert.ok(e.message.includes(mention) || JSON.stringify(e.context).includes(mention), `error should mention ${mention}: ${e.message}`);
    return true;
  });
}

/** Rewrite a GGUF with edited metadata and/or tensors. */
function rewrite(src: string, dst: string, edit: { meta?: (m: [string, GgufEntry][]) => void; tensors?: (t: GgufWriterTensor[]) => GgufWriterTensor[] }): string {
  const f = GgufFile.open(src);
  const tensors: GgufWriterTensor[] = f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: f.tensorBytes(t) }));
  const metadata = [...f.metadata] as [string, GgufEntry][];
  f.close();
  edit.meta?.(metadata);
  writeGguf(dst, { metadata, tensors: edit.tensors?.(tensors) ?? tensors });
  return dst;
}

const setKey = (k: string, v: GgufEntry) => (m: [string, GgufEntry][]) => {
  const i = m.findIndex(([key]) => key === k);
  if (i >= 0) m[i] = [k, v];
  else m.push([k, v]);
};
const dropKey = (k: string) => (m: [string, GgufEntry][]) => void m.splice(m.findIndex(([key]) => key === k), 1);

test('every architecture round-trips its hparams through GGUF and loadModel', () => {
  for (const [name, hp] of Object.entries(MODELS)) {
    const m = loadModel(path(name));
    assert.deepEqual(m.hparams, hp, name);
    const s = m.createSession({ cache: { policy: 'dense' } });
    s.prefill(stream.slice(0, 5));
    assert.ok(s.logits().every(Number.isFinite), name);
  }
});

test('every cache policy runs every architecture unchanged, batched and token by token alike', () => {
  const policies: CacheOptions[] = [
    { policy: 'sink', sinks: 4, window: 20 },
    { policy: 'window', window: 24 },
    { policy: 'recompute', window: 24 },
    { policy: 'dense', allowOverflow: true },
  ];
  for (const name of Object.keys(MODELS)) {
    const m = openOurs(path(name));
    const V = m.hparams.vocabSize;
    for (const cache of policies) {
      const label = `${name} / ${cache.policy}`;
      const batched = new Session(m, scalarOps, { cache, batchSize: 32 });
      const rows: Float32Array[] = [];
      batched.evaluate(stream, (_, r) => rows.push(Float32Array.from(r)));
      const one = new Session(m, scalarOps, { cache, batchSize: 1 });
      let worst = 0;
      one.evaluate(stream, (i, r) => (worst = Math.max(worst, maxAbsDiff(r, rows[i]!).maxAbsDiff)));
      assert.ok(worst < 1e-4, `${label}: batched vs one-by-one logits differ by ${worst}`);
      assert.equal(rows.length, stream.length);
      assert.equal(rows[rows.length - 1]!.length, V, label);
    }
  }
});

test('sinks + window covering the whole stream is exactly dense attention, for every architecture', () => {
  for (const name of Object.keys(MODELS)) {
    const m = openOurs(path(name));
    const last = (cache: CacheOptions) => {
      const s = new Session(m, scalarOps, { cache, batchSize: 16 });
      s.prefill(stream.slice(0, 60));
      return Float32Array.from(s.logits());
    };
    const d = maxAbsDiff(last({ policy: 'sink', sinks: 4, window: 60 }), last({ policy: 'dense' }));
    assert.ok(d.maxAbsDiff < 1e-5, `${name}: ${d.maxAbsDiff}`);
  }
});

test('ALiBi slopes are ggml\'s, including non-power-of-two head counts', () => {
  assert.deepEqual([...alibiSlopes(8, 8)], [1, 2, 3, 4, 5, 6, 7, 8].map((h) => 2 ** -h));
  // 6 heads: the first 4 follow m0 = 2^-2, the other 2 interleave m1 = 2^-1 at odd powers.
  assert.deepEqual([...alibiSlopes(6, 8)], [2 ** -2, 2 ** -4, 2 ** -6, 2 ** -8, 2 ** -1, 2 ** -3]);
  // 12 heads: 8 from m0 = 2^-1, then m1 = 2^-0.5 raised to 1, 3, 5, 7 (powf in float32, as ggml).
  assert.deepEqual([...alibiSlopes(12, 8)].slice(8), [1, 3, 5, 7].map((k) => Math.fround(Math.fround(Math.SQRT1_2) ** k)));
  // max_alibi_bias 0 means no position information at all (llama.cpp's reading).
  assert.equal(openOurs(path('mpt-nopos')).geometry.positional.kind, 'none');
  assert.equal(openOurs(path('mpt')).geometry.positional.kind, 'alibi');
});

test('GELU follows ggml: fp16 input, fp16 table of the tanh form, exact beyond ±10', () => {
  // Round to nearest even, subnormals and overflow included.
  assert.equal(f32ToF16Bits(1), 0x3c00);
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie → even
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even (up)
  assert.equal(f32ToF16Bits(2 ** -24), 0x0001);
  assert.equal(f32ToF16Bits(2 ** -25), 0x0000); // tie → even (zero)
  assert.equal(f32ToF16Bits(65520), 0x7c00);
  assert.equal(f32ToF16Bits(-0.5), 0xb800);
  const xs = Float32Array.from([-12, -10, -3.3, -1, -1e-3, 0, 1e-3, 0.5, 1.7, 9.99, 10, 42]);
  const y = Float32Array.from(xs);
  geluGgml(y, y.length);
  const tanhGelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * x * (1 + 0.044715 * x * x)));
  xs.forEach((x, i) => {
    if (x <= -10) assert.equal(y[i], 0);
    else if (x >= 10) assert.equal(y[i], x);
    else {
      assert.equal(f16BitsToF32(f32ToF16Bits(y[i]!)), y[i], `gelu(${x}) is an fp16 value`);
      const want = tanhGelu(f16BitsToF32(f32ToF16Bits(x)));
      assert.ok(Math.abs(y[i]! - want) <= Math.abs(want) * 2 ** -10 + 2 ** -24, `gelu(${x}) = ${y[i]}, tanh form ${want}`);
    }
  });
  // The build option switches to ops.gelu (plain tanh): close, but not the same numbers.
  const a = openOurs(path('gptneox'));
  const b = openOurs(path('gptneox'), { gelu: 'tanh' });
  const run = (m: typeof a) => {
    const s = new Session(m, scalarOps, { cache: { policy: 'dense' } });
    s.prefill(stream.slice(0, 20));
    return Float32Array.from(s.logits());
  };
  const d = maxAbsDiff(run(a), run(b)).maxAbsDiff;
  assert.ok(d > 0 && d < 0.05, `ggml vs tanh GELU: ${d}`);
});

test('unsupported variants are refused with typed errors naming the field or tensor', () => {
  expectCode(() => loadModel(rewrite(path('falcon-7b'), path('bad-layout'), { meta: setKey('falcon.tensor_data_layout', gv.str('interleaved')) })), 'UNSUPPORTED_ARCHITECTURE', 'tensor_data_layout');
  expectCode(() => loadModel(rewrite(path('falcon-7b'), path('bad-rot'), { meta: setKey('falcon.rope.dimension_count', gv.u32(4)) })), 'UNSUPPORTED_ARCHITECTURE', 'rope.dimension_count');
  expectCode(
    () =>
      loadModel(
        rewrite(path('mpt'), path('mpt-posembd'), {
          tensors: (ts) => [...ts, { name: 'position_embd.weight', type: 0, dims: [common.dim, common.contextLength], data: new Uint8Array(common.dim * common.contextLength * 4) }],
        }),
      ),
    'UNSUPPORTED_ARCHITECTURE',
    'position_embd.weight',
  );
  expectCode(() => loadModel(rewrite(path('gptneox'), path('neox-nopar'), { meta: dropKey('gptneox.use_parallel_residual') })), 'MISSING_METADATA', 'use_parallel_residual');
  expectCode(() => loadModel(rewrite(path('gptneox'), path('neox-keylen'), { meta: setKey('gptneox.attention.key_length', gv.u32(4)) })), 'UNSUPPORTED_ARCHITECTURE', 'key_length');
  expectCode(() => loadModel(rewrite(path('mpt'), path('mpt-alibi'), { meta: setKey('mpt.attention.max_alibi_bias', gv.f32(-1)) })), 'BAD_HPARAMS', 'max_alibi_bias');
});

test('inconsistent tensor sets are reported by name', () => {
  // Biases are all-or-none (detected from layer 0).
  expectCode(() => loadModel(rewrite(path('mpt-bias'), path('mpt-halfbias'), { tensors: (ts) => ts.filter((t) => t.name !== 'blk.1.attn_qkv.bias') })), 'MISSING_TENSOR', 'blk.1.attn_qkv.bias');
  // Falcon-40B style is recognized from layer 0's attn_norm_2; every layer must have one.
  expectCode(() => loadModel(rewrite(path('falcon-40b'), path('f40-half'), { tensors: (ts) => ts.filter((t) => !t.name.startsWith('blk.1.attn_norm_2')) })), 'MISSING_TENSOR', 'blk.1.attn_norm_2');
  // Falcon has no linear biases.
  expectCode(
    () => loadModel(rewrite(path('falcon-7b'), path('f7-bias'), { tensors: (ts) => [...ts, { name: 'blk.0.attn_qkv.bias', type: 0, dims: [64], data: new Uint8Array(256) }] })),
    'UNEXPECTED_TENSOR',
    'blk.0.attn_qkv.bias',
  );
  // A fused QKV matrix with the wrong row count.
  expectCode(
    () => loadModel(rewrite(path('gptneox'), path('neox-qkv'), { tensors: (ts) => ts.map((t) => (t.name === 'blk.0.attn_qkv.weight' ? { ...t, dims: [common.dim, 2 * common.dim], data: (t.data as Uint8Array).subarray(0, common.dim * 2 * common.dim * 4) } : t)) })),
    'TENSOR_SHAPE_MISMATCH',
    'blk.0.attn_qkv.weight',
  );
});
