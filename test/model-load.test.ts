/** Loading GGUF models: tensor tables checked by name, typed errors, quantized weights. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomLlama } from '../src/convert/random.js';
import { StreamLlmError } from '../src/errors.js';
import { GgufFile, gv, writeGguf, type GgufWriterTensor } from '../src/formats/gguf/index.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { dequantize } from '../src/tensor/quant.js';
import { maxAbsDiff } from './helpers/compare.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir();
const HP: Hparams = {
  arch: 'llama',
  vocabSize: 96,
  dim: 64,
  layers: 2,
  nHeads: 4,
  kvHeads: 2, // GQA
  headDim: 16,
  ffnDim: 96,
  contextLength: 64,
  normEps: 1e-5,
  rope: { base: 10000, dims: 16, style: 'adjacent', freqScale: 1 },
};

function rewrite(src: string, dst: string, edit: (t: GgufWriterTensor[]) => GgufWriterTensor[], meta?: (m: [string, import('../src/formats/gguf/index.js').GgufEntry][]) => void): string {
  const f = GgufFile.open(src);
  const tensors: GgufWriterTensor[] = f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: f.tensorBytes(t) }));
  const metadata = [...f.metadata];
  meta?.(metadata);
  f.close();
  writeGguf(dst, { metadata, tensors: edit(tensors) });
  return dst;
}

function expectCode(fn: () => unknown, code: string, mention?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof StreamLlmError, `expected StreamLlmError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (mention !== undefined) assert.ok(e.message.includes(mention) || JSON.stringify(e.context).includes(mention), `error should mention ${mention}: ${e.message}`);
    return true;
  });
}

const base = join(dir, 'base.gguf');
writeRandomLlama(base, { hparams: HP, seed: 7 });

test('a random GQA model loads and its batch and token-by-token logits agree', () => {
  const m = loadModel(base);
  assert.equal(m.hparams.kvHeads, 2);
  assert.equal(m.tokenizer, undefined);
  const ids = [1, 5, 9, 33, 2, 70, 71, 12];
  const all = m.model.forward(ids, m.createSession().cache, { logits: 'all' });
  const s = m.createSession();
  for (let i = 0; i < ids.length; i++) {
    s.prefill([ids[i]!]);
    const d = maxAbsDiff(s.logits(), all.subarray(i * HP.vocabSize, (i + 1) * HP.vocabSize));
    assert.ok(d.maxAbsDiff < 1e-5, `position ${i}: ${d.maxAbsDiff}`);
  }
});

test('tied output: no output.weight means the embedding is the classifier', () => {
  const p = join(dir, 'tied.gguf');
  writeRandomLlama(p, { hparams: HP, seed: 7, tiedOutput: true });
  const m = loadModel(p);
  const s = m.createSession();
  s.prefill([3]);
  assert.equal(s.logits().length, HP.vocabSize);
});

test('quantized weights (F16, BF16, Q8_0, Q4_0) compute exactly what their dequantized F32 values do', () => {
  const ids = [1, 40, 41, 42, 7, 8];
  const ref = loadModel(base);
  const r = ref.createSession();
  r.prefill(ids);
  const f32Logits = Float32Array.from(r.logits());
  for (const type of [GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0]) {
    const q = join(dir, `q${type}.gguf`);
    writeRandomLlama(q, { hparams: HP, seed: 7, type });
    // The same weights, dequantized into an F32 file by the scalar reference.
    const dq = rewrite(q, join(dir, `dq${type}.gguf`), (ts) =>
      ts.map((t) => {
        const n = t.dims.reduce((a, b) => a * b, 1);
        const x = new Float32Array(n);
        dequantize(t.type, t.data as Uint8Array, 0, x, 0, n);
        return { ...t, type: GgmlType.F32, data: new Uint8Array(x.buffer) };
      }),
    );
    const logits = (p: string) => {
      const s = loadModel(p).createSession();
      s.prefill(ids);
      return Float32Array.from(s.logits());
    };
    const a = logits(q);
    const d = maxAbsDiff(a, logits(dq));
    assert.ok(d.maxAbsDiff < 1e-5, `type ${GgmlType[type]}: quantized vs dequantized max diff ${d.maxAbsDiff}`);
    // And quantization really happened: the logits moved away from the F32 model's.
    assert.ok(maxAbsDiff(a, f32Logits).maxAbsDiff > 1e-6, `type ${GgmlType[type]} produced the F32 logits exactly`);
  }
});

test('a missing tensor is reported by name', () => {
  const p = rewrite(base, join(dir, 'missing.gguf'), (ts) => ts.filter((t) => t.name !== 'blk.1.ffn_up.weight'));
  expectCode(() => loadModel(p), 'MISSING_TENSOR', 'blk.1.ffn_up.weight');
});

test('an unexpected tensor is reported by name', () => {
  const p = rewrite(base, join(dir, 'extra.gguf'), (ts) => [...ts, { name: 'blk.0.mystery.weight', type: GgmlType.F32, dims: [4], data: new Uint8Array(16) }]);
  expectCode(() => loadModel(p), 'UNEXPECTED_TENSOR', 'blk.0.mystery.weight');
});

test('a misshapen tensor is reported with expected and actual shapes', () => {
  const p = rewrite(base, join(dir, 'shape.gguf'), (ts) =>
    ts.map((t) => (t.name === 'blk.0.attn_k.weight' ? { ...t, dims: [32, 64] } : t)),
  );
  expectCode(() => loadModel(p), 'TENSOR_SHAPE_MISMATCH', 'blk.0.attn_k.weight');
});

test('an uncomputable quant type is refused as unsupported, naming tensor and type', () => {
  const p = rewrite(base, join(dir, 'q4k.gguf'), (ts) =>
    ts.map((t) => (t.name === 'blk.0.ffn_down.weight' ? { ...t, type: GgmlType.Q4_K, dims: [256, 24], data: new Uint8Array(144 * 24) } : t)),
  );
  expectCode(() => loadModel(p), 'TENSOR_SHAPE_MISMATCH');
  const p2 = join(dir, 'q4k-ok-shape.gguf');
  writeRandomLlama(p2, { hparams: { ...HP, ffnDim: 256 }, seed: 1 });
  const p3 = rewrite(p2, join(dir, 'q4k2.gguf'), (ts) =>
    ts.map((t) => (t.name === 'blk.0.ffn_down.weight' ? { ...t, type: GgmlType.Q5_K, data: new Uint8Array(176 * 64) } : t)),
  );
  expectCode(() => loadModel(p3), 'UNSUPPORTED_TENSOR_TYPE', 'Q5_K');
});

test('an unknown architecture is refused with the supported list', () => {
  const p = rewrite(base, join(dir, 'arch.gguf'), (ts) => ts, (m) => {
    const i = m.findIndex(([k]) => k === 'general.architecture');
    m[i] = ['general.architecture', gv.str('rwkv6')];
  });
  expectCode(() => loadModel(p), 'UNSUPPORTED_ARCHITECTURE', 'rwkv6');
});

test('absurd hyperparameters are refused naming the field', () => {
  const p = rewrite(base, join(dir, 'hp.gguf'), (ts) => ts, (m) => {
    const i = m.findIndex(([k]) => k === 'llama.attention.head_count_kv');
    m[i] = ['llama.attention.head_count_kv', gv.u32(3)];
  });
  expectCode(() => loadModel(p), 'BAD_HPARAMS', 'head_count_kv');
});
