/**
 * Safetensors done-when: a Hugging Face folder written by our own writer from
 * the same random weights as a GGUF gives the same logits as the GGUF, for
 * every architecture (F32: max-abs-diff ≤ 1e-5; in fact bit-identical, since
 * the rows land in the same places). Also: Llama loaded with HF's halves
 * rotation instead of the row permutation, sharded checkpoints, BF16/F16
 * weights kept as such, and the checkpoint → GGUF converter.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { convertHf } from '../src/convert/hf.js';
import { writeRandomModel, type RandomModelOptions } from '../src/convert/random.js';
import { GgufFile } from '../src/formats/gguf/index.js';
import { scalarOps } from '../src/kernels/scalar.js';
import { openHfWeights } from '../src/models/hf/index.js';
import { loadWeights } from '../src/models/load.js';
import type { Hparams, Model } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { Session } from '../src/runtime/session.js';
import { GgmlType } from '../src/tensor/dtype.js';
import { maxAbsDiff } from './helpers/compare.js';
import { hfDirFromGguf, type HfDirOptions } from './helpers/hf-dir.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('streamllm-hf-');
const TOL = 1e-5;
const IDS = [1, 17, 300, 5, 99, 42, 7, 250, 3, 128, 64, 11, 200, 9, 77, 150];

const base = { vocabSize: 320, dim: 64, layers: 2, contextLength: 128, normEps: 1e-5 } as const;
const CASES: Record<string, { hp: Hparams; model?: Partial<RandomModelOptions>; hf?: HfDirOptions }> = {
  llama: {
    hp: { ...base, arch: 'llama', nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 96, rope: { base: 10000, dims: 16, style: 'adjacent', freqScale: 1 } },
  },
  mistral: {
    hp: { ...base, arch: 'llama', nHeads: 4, kvHeads: 1, headDim: 16, ffnDim: 96, rope: { base: 1e6, dims: 16, style: 'adjacent', freqScale: 1 }, slidingWindow: 32 },
    hf: { modelType: 'mistral' },
  },
  qwen2: {
    hp: { ...base, arch: 'qwen2', nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 96, qkvBias: true, rope: { base: 1e6, dims: 16, style: 'halves', freqScale: 1 } },
    model: { tiedOutput: true },
    hf: { config: { tie_word_embeddings: true } },
  },
  gpt_neox: {
    hp: { ...base, arch: 'gptneox', nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 256, rope: { base: 10000, dims: 8, style: 'halves', freqScale: 1 }, parallelResidual: true },
  },
  'gpt_neox-sequential': {
    hp: { ...base, arch: 'gptneox', nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 128, rope: { base: 10000, dims: 4, style: 'halves', freqScale: 1 }, parallelResidual: false },
  },
  mpt: {
    hp: { ...base, arch: 'mpt', nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 256, alibiMaxBias: 8, clampKqv: undefined, bias: false },
    model: { tiedOutput: true },
  },
  'mpt-bias-clamp-gqa': {
    hp: { ...base, arch: 'mpt', nHeads: 4, kvHeads: 2, headDim: 16, ffnDim: 128, alibiMaxBias: 8, clampKqv: 0.5, bias: true },
    model: { tiedOutput: true },
  },
  'falcon-7b': {
    hp: { ...base, arch: 'falcon', nHeads: 4, kvHeads: 1, headDim: 16, ffnDim: 256, rope: { base: 10000, dims: 16, style: 'halves', freqScale: 1 }, separateAttnNorm: false },
    model: { tiedOutput: true },
  },
  'falcon-40b': {
    hp: { ...base, arch: 'falcon', nHeads: 8, kvHeads: 2, headDim: 8, ffnDim: 256, rope: { base: 10000, dims: 8, style: 'halves', freqScale: 1 }, separateAttnNorm: true },
  },
  // Neither multi-query nor the new architecture: one KV group per head, HF rows (q, k, v) per head.
  'falcon-mha': {
    hp: { ...base, arch: 'falcon', nHeads: 4, kvHeads: 4, headDim: 16, ffnDim: 128, rope: { base: 10000, dims: 16, style: 'halves', freqScale: 1 }, separateAttnNorm: false },
    hf: { config: { multi_query: false, num_kv_heads: null } },
  },
};

function ggufModel(path: string): Model {
  return loadModel(path).model;
}

function logits(m: Model, ids: readonly number[]): Float32Array {
  return Float32Array.from(m.forward(ids, new Session(m, scalarOps, { cache: { policy: 'dense' } }).cache, { logits: 'all' }));
}

function assertClose(ours: Float32Array, ref: Float32Array, tol: number, label: string): number {
  const d = maxAbsDiff(ours, ref);
  assert.ok(d.maxAbsDiff <= tol, `${label}: max-abs-diff ${d.maxAbsDiff} at ${d.at} (ours ${d.ours}, GGUF ${d.ref}) > ${tol}`);
  return d.maxAbsDiff;
}

for (const [name, c] of Object.entries(CASES)) {
  test(`${name}: the HF safetensors folder gives the GGUF's logits`, (t) => {
    const gguf = join(dir, `${name}.gguf`);
    writeRandomModel(gguf, { hparams: c.hp, seed: 5, logitScale: 2, ...c.model });
    const folder = join(dir, name);
    hfDirFromGguf(gguf, folder, c.hf);
    const hf = loadModel(folder);
    assert.equal(hf.format, 'hf');
    assert.deepEqual(hf.hparams, ggufModel(gguf).hparams);
    const d = assertClose(logits(hf.model, IDS), logits(ggufModel(gguf), IDS), TOL, name);
    t.diagnostic(`max-abs-diff ${d}`);
  });
}

test('llama: permuting q/k rows (adjacent RoPE) and keeping HF rows (halves RoPE) are the same model', () => {
  const folder = join(dir, 'llama');
  const halves = openHfWeights(folder, { llamaRope: 'halves' });
  const permuted = openHfWeights(folder);
  try {
    assert.equal(halves.hparams.arch === 'llama' && halves.hparams.rope.style, 'halves');
    assert.equal(permuted.hparams.arch === 'llama' && permuted.hparams.rope.style, 'adjacent');
    const a = logits(loadWeights(halves.hparams, halves.source, scalarOps), IDS);
    const b = logits(loadWeights(permuted.hparams, permuted.source, scalarOps), IDS);
    // Same products, but RoPE reads the rotated pairs from different lanes: float rounding only.
    assertClose(a, b, 1e-4, 'halves vs permuted');
    // And not vacuous: the unpermuted rows with adjacent rotation are a different model.
    const hp = halves.hparams;
    assert.ok(hp.arch === 'llama');
    const wrong = loadWeights({ ...hp, rope: { ...hp.rope, style: 'adjacent' } }, halves.source, scalarOps);
    assert.ok(maxAbsDiff(logits(wrong, IDS), b).maxAbsDiff > 1e-2, 'HF rows with adjacent rotation must differ');
  } finally {
    halves.close();
    permuted.close();
  }
});

test('a sharded checkpoint (index + 3 shards) loads like the single file', () => {
  const gguf = join(dir, 'gpt_neox.gguf');
  const folder = join(dir, 'neox-sharded');
  hfDirFromGguf(gguf, folder, { shards: 3 });
  assertClose(logits(loadModel(folder).model, IDS), logits(ggufModel(gguf), IDS), TOL, 'sharded');
});

test('BF16 and F16 weights stay BF16/F16 in engine memory; 1-D tensors are offered as F32', () => {
  for (const [dtype, type] of [['BF16', GgmlType.BF16], ['F16', GgmlType.F16]] as const) {
    const gguf = join(dir, `llama-${dtype}.gguf`);
    // Matrices stored in the half type on both sides: identical values, so logits agree closely.
    writeRandomModel(gguf, { hparams: CASES['llama']!.hp, seed: 9, type, logitScale: 2 });
    const folder = join(dir, `llama-${dtype}`);
    hfDirFromGguf(gguf, folder, { dtype, vectorDtype: 'F32' });
    const w = openHfWeights(folder);
    try {
      for (const t of w.source.tensors) assert.equal(t.type, t.dims.length === 1 ? GgmlType.F32 : type, t.name);
    } finally {
      w.close();
    }
    assertClose(logits(loadModel(folder).model, IDS), logits(ggufModel(gguf), IDS), TOL, dtype);
    // Vectors stored in the half type too (as real checkpoints do): converted to F32 exactly.
    const folder2 = join(dir, `llama-${dtype}-all`);
    hfDirFromGguf(gguf, folder2, { dtype });
    const w2 = openHfWeights(folder2);
    try {
      const norm = w2.source.tensors.find((t) => t.name === 'output_norm.weight')!;
      assert.equal(norm.type, GgmlType.F32);
      const got = new Float32Array(norm.dims[0]!);
      w2.source.read(norm.name, new Uint8Array(got.buffer));
      const ref = GgufFile.open(gguf);
      const want = new Float32Array(ref.tensorBytes(ref.tensor('output_norm.weight')!).buffer);
      ref.close();
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - want[i]!) <= Math.abs(want[i]!) * (dtype === 'BF16' ? 2 ** -8 : 2 ** -11), `${dtype} norm[${i}]`);
    } finally {
      w2.close();
    }
  }
});

test('convert --from hf: the GGUF it writes gives the folder’s logits, for every architecture', () => {
  for (const name of ['llama', 'qwen2', 'gpt_neox', 'mpt', 'falcon-7b', 'falcon-40b']) {
    const out = join(dir, `${name}.converted.gguf`);
    const r = convertHf({ dir: join(dir, name), output: out });
    assert.equal(r.tokenizer, false);
    const f = GgufFile.open(out);
    // llama.cpp's loader wants 1-D tensors in F32.
    for (const t of f.tensors) if (t.dims.length === 1) assert.equal(t.type, GgmlType.F32, `${name} ${t.name}`);
    f.close();
    assertClose(logits(ggufModel(out), IDS), logits(loadModel(join(dir, name)).model, IDS), TOL, `${name} converted`);
  }
});

test('convert --type q8_0 quantizes matrices whose rows are whole blocks and keeps vectors F32', () => {
  const out = join(dir, 'neox.q8.gguf');
  convertHf({ dir: join(dir, 'gpt_neox'), output: out, type: 'q8_0' });
  const f = GgufFile.open(out);
  try {
    for (const t of f.tensors) assert.equal(t.type, t.dims.length === 1 ? GgmlType.F32 : GgmlType.Q8_0, t.name);
    assert.equal(f.getNumber('general.file_type'), 7);
  } finally {
    f.close();
  }
  const d = maxAbsDiff(logits(ggufModel(out), IDS), logits(loadModel(join(dir, 'gpt_neox')).model, IDS));
  assert.ok(d.maxAbsDiff < 0.2 && d.maxAbsDiff > 0, `Q8_0 logits should be close, not identical: ${d.maxAbsDiff}`);
});
