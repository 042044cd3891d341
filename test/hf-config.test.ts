/**
 * config.json → Hparams for each supported model_type (transformers'
 * defaults, renamed keys, variants), typed refusals for what our
 * architectures do not compute, and the checkpoint's tensor table checked
 * against the architecture: unexpected, missing, misshapen, wrongly typed
 * tensors named by their HF name; known buffers skipped; tied outputs.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeRandomModel } from '../src/convert/random.js';
import { StreamLlmError, type ErrorCode } from '../src/errors.js';
import { GgufFile, writeGguf } from '../src/formats/gguf/index.js';
import { SafetensorsFile, writeSafetensors } from '../src/formats/safetensors/index.js';
import { HfConfig, hparamsFromHfConfig, openHfWeights } from '../src/models/hf/index.js';
import type { Hparams } from '../src/models/types.js';
import { loadModel } from '../src/runtime/index.js';
import { hfDirFromGguf } from './helpers/hf-dir.js';
import { tempDir } from './helpers/tmp.js';

const dir = tempDir('streamllm-hfcfg-');

function hp(config: Record<string, unknown>, tensors: readonly string[] = [], llamaRope: 'permute' | 'halves' = 'permute'): Hparams {
  return hparamsFromHfConfig(HfConfig.from(config, 'config.json'), { hasTensor: (n) => tensors.includes(n), llamaRope });
}

function expectCode(fn: () => unknown, code: ErrorCode, mention?: string): StreamLlmError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof StreamLlmError, `expected ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (mention !== undefined) assert.ok(`${caught.message} ${JSON.stringify(caught.context)} ${caught.hint ?? ''}`.includes(mention), `should mention ${mention}: ${caught.message}`);
  return caught;
}

const LLAMA = {
  model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32,
  num_attention_heads: 32, num_key_value_heads: null, max_position_embeddings: 4096, rms_norm_eps: 1e-5, rope_theta: 10000,
  hidden_act: 'silu', rope_scaling: null, attention_bias: false, tie_word_embeddings: false,
};

test('llama: Llama-2-7B config, with transformers defaults for null keys; RoPE adjacent after the row permutation', () => {
  const h = hp(LLAMA);
  assert.deepEqual(h, {
    arch: 'llama', vocabSize: 32000, dim: 4096, layers: 32, nHeads: 32, kvHeads: 32, headDim: 128, ffnDim: 11008,
    contextLength: 4096, normEps: 1e-5, rope: { base: 10000, dims: 128, style: 'adjacent', freqScale: 1 },
  });
  assert.equal(hp(LLAMA, [], 'halves').arch === 'llama' && (hp(LLAMA, [], 'halves') as { rope: { style: string } }).rope.style, 'halves');
  const { rms_norm_eps: _, ...noEps } = LLAMA;
  assert.equal(hp(noEps).normEps, 1e-6, "LlamaConfig's default eps");
  assert.equal((hp({ ...LLAMA, rope_scaling: { type: 'linear', factor: 4 } }) as { rope: { freqScale: number } }).rope.freqScale, 0.25);
  assert.equal((hp({ ...LLAMA, rope_scaling: { rope_type: 'default' } }) as { rope: { freqScale: number } }).rope.freqScale, 1);
});

test('mistral is a llama with its sliding window recorded; qwen2 has halves RoPE and biases from the tensors', () => {
  const m = hp({ ...LLAMA, model_type: 'mistral', num_key_value_heads: 8, sliding_window: 4096, rope_theta: 1e6 });
  assert.equal(m.arch, 'llama');
  assert.equal(m.kvHeads, 8);
  assert.equal((m as { slidingWindow?: number }).slidingWindow, 4096);
  const q = hp({ ...LLAMA, model_type: 'qwen2', use_sliding_window: false, sliding_window: 32768 }, ['model.layers.0.self_attn.q_proj.bias']);
  assert.ok(q.arch === 'qwen2');
  assert.equal(q.rope.style, 'halves');
  assert.equal(q.qkvBias, true);
  assert.equal(q.slidingWindow, undefined, 'use_sliding_window false');
});

test('gpt_neox: Pythia-160M config (rotary_pct, parallel residual), and the newer key names', () => {
  const cfg = {
    model_type: 'gpt_neox', vocab_size: 50304, hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12,
    max_position_embeddings: 2048, layer_norm_eps: 1e-5, rotary_pct: 0.25, rotary_emb_base: 10000, use_parallel_residual: true, hidden_act: 'gelu',
  };
  const h = hp(cfg);
  assert.ok(h.arch === 'gptneox');
  assert.deepEqual([h.headDim, h.rope.dims, h.rope.style, h.parallelResidual], [64, 16, 'halves', true]);
  const { rotary_pct: _, rotary_emb_base: __, ...renamed } = cfg;
  const h2 = hp({ ...renamed, partial_rotary_factor: 0.5, rope_theta: 500 });
  assert.ok(h2.arch === 'gptneox');
  assert.deepEqual([h2.rope.dims, h2.rope.base], [32, 500]);
  expectCode(() => hp({ ...cfg, attention_bias: false }), 'UNSUPPORTED_ARCHITECTURE', 'attention_bias');
  expectCode(() => hp({ ...cfg, hidden_act: 'relu' }), 'UNSUPPORTED_ARCHITECTURE', 'hidden_act');
});

const MPT = {
  model_type: 'mpt', d_model: 4096, n_heads: 32, n_layers: 32, expansion_ratio: 4, max_seq_len: 2048, vocab_size: 50432, no_bias: true,
  learned_pos_emb: true, norm_type: 'low_precision_layernorm', logit_scale: null,
  attn_config: { alibi: true, alibi_bias_max: 8, clip_qkv: null, qk_ln: false, attn_type: 'multihead_attention' },
};

test('mpt: MPT-7B config; variants by attn_config; refusals', () => {
  const h = hp(MPT);
  assert.ok(h.arch === 'mpt');
  assert.deepEqual([h.ffnDim, h.kvHeads, h.alibiMaxBias, h.clampKqv, h.bias, h.normEps], [16384, 32, 8, undefined, false, 1e-5]);
  const g = hp({ ...MPT, no_bias: false, attn_config: { ...MPT.attn_config, clip_qkv: 6, attn_type: 'grouped_query_attention', kv_n_heads: 8 } });
  assert.ok(g.arch === 'mpt');
  assert.deepEqual([g.kvHeads, g.clampKqv, g.bias], [8, 6, true]);
  assert.equal(hp({ ...MPT, attn_config: { ...MPT.attn_config, attn_type: 'multiquery_attention' } }).kvHeads, 1);
  assert.equal((hp({ ...MPT, attn_config: { alibi: false } }) as { alibiMaxBias: number }).alibiMaxBias, 0);
  expectCode(() => hp({ ...MPT, attn_config: { ...MPT.attn_config, qk_ln: true } }), 'UNSUPPORTED_ARCHITECTURE', 'qk_ln');
  expectCode(() => hp({ ...MPT, logit_scale: 'inv_sqrt_d_model' }), 'UNSUPPORTED_ARCHITECTURE', 'logit_scale');
  expectCode(() => hp({ ...MPT, norm_type: 'rmsnorm' }), 'UNSUPPORTED_ARCHITECTURE', 'norm_type');
  expectCode(() => hp(MPT, ['transformer.wpe.weight']), 'UNSUPPORTED_ARCHITECTURE', 'position embeddings');
});

test('falcon: 7B (RefinedWebModel keys), 40B (RefinedWeb / new_decoder_architecture), Falcon2-style single norm; refusals', () => {
  const rw7 = hp({ model_type: 'RefinedWebModel', hidden_size: 4544, n_head: 71, n_layer: 32, multi_query: true, parallel_attn: true, bias: false, alibi: false, vocab_size: 65024, layer_norm_epsilon: 1e-5 });
  assert.ok(rw7.arch === 'falcon');
  assert.deepEqual([rw7.nHeads, rw7.kvHeads, rw7.headDim, rw7.ffnDim, rw7.separateAttnNorm, rw7.rope.style], [71, 1, 64, 18176, false, 'halves']);
  const rw40 = hp({ model_type: 'RefinedWeb', hidden_size: 8192, n_head: 128, n_head_kv: 8, n_layer: 60, parallel_attn: true, bias: false, alibi: false, vocab_size: 65024 });
  assert.ok(rw40.arch === 'falcon');
  assert.deepEqual([rw40.kvHeads, rw40.separateAttnNorm], [8, true]);
  const f2 = hp({ model_type: 'falcon', hidden_size: 4096, num_attention_heads: 32, num_kv_heads: 8, num_hidden_layers: 60, new_decoder_architecture: true, num_ln_in_parallel_attn: 1, vocab_size: 65024, ffn_hidden_size: 16384 });
  assert.ok(f2.arch === 'falcon');
  assert.deepEqual([f2.kvHeads, f2.separateAttnNorm, f2.ffnDim], [8, false, 16384]);
  const base = { model_type: 'falcon', hidden_size: 64, num_attention_heads: 4, num_hidden_layers: 2, vocab_size: 100 };
  assert.equal(hp({ ...base, multi_query: false, num_kv_heads: 2 }).kvHeads, 4, 'num_kv_heads only counts for the new architecture');
  expectCode(() => hp({ ...base, alibi: true }), 'UNSUPPORTED_ARCHITECTURE', 'ALiBi');
  expectCode(() => hp({ ...base, bias: true }), 'UNSUPPORTED_ARCHITECTURE', 'bias');
  expectCode(() => hp({ ...base, parallel_attn: false }), 'UNSUPPORTED_ARCHITECTURE', 'parallel_attn');
});

test('config errors are typed and name the key', () => {
  expectCode(() => hp({ ...LLAMA, model_type: 'gemma' }), 'UNSUPPORTED_ARCHITECTURE', 'supported: llama');
  expectCode(() => hp({ ...LLAMA, model_type: undefined }), 'MISSING_METADATA', 'model_type');
  const { hidden_size: _, ...noDim } = LLAMA;
  expectCode(() => hp(noDim), 'MISSING_METADATA', 'hidden_size');
  expectCode(() => hp({ ...LLAMA, num_attention_heads: '32' }), 'BAD_HPARAMS', 'num_attention_heads');
  expectCode(() => hp({ ...LLAMA, num_attention_heads: 0 }), 'BAD_HPARAMS');
  expectCode(() => hp({ ...LLAMA, num_key_value_heads: 5 }), 'BAD_HPARAMS', 'head_count_kv');
  expectCode(() => hp({ ...LLAMA, rope_scaling: { type: 'yarn', factor: 4 } }), 'UNSUPPORTED_ARCHITECTURE', 'yarn');
  expectCode(() => hp({ ...LLAMA, rope_scaling: { type: 'linear', factor: -1 } }), 'BAD_HPARAMS', 'factor');
  expectCode(() => hp({ ...LLAMA, hidden_act: 'gelu' }), 'UNSUPPORTED_ARCHITECTURE', 'hidden_act');
  expectCode(() => hp({ ...LLAMA, attention_bias: true }), 'UNSUPPORTED_ARCHITECTURE', 'attention_bias');
  expectCode(() => hp({ ...MPT, attn_config: [1] }), 'BAD_HPARAMS', 'attn_config');
  expectCode(() => HfConfig.from([1, 2], 'config.json'), 'BAD_HPARAMS');
});

// ---- The tensor table of a real folder ----

const SMALL: Hparams = {
  arch: 'gptneox', vocabSize: 64, dim: 32, layers: 2, nHeads: 4, kvHeads: 4, headDim: 8, ffnDim: 64, contextLength: 64, normEps: 1e-5,
  rope: { base: 10000, dims: 4, style: 'halves', freqScale: 1 }, parallelResidual: true,
};
const gguf = join(dir, 'small.gguf');
writeRandomModel(gguf, { hparams: SMALL, seed: 3 });

function folder(name: string, opts: Parameters<typeof hfDirFromGguf>[2] = {}): string {
  const d = join(dir, name);
  rmSync(d, { recursive: true, force: true });
  hfDirFromGguf(gguf, d, opts);
  return d;
}

test('known buffers (causal mask, masked_bias, rotary cache) are skipped; other extra tensors are refused by name', () => {
  const buffers = folder('buffers', {
    extra: [
      { name: 'gpt_neox.layers.0.attention.bias', dtype: 'BOOL', shape: [1, 1, 4, 4], data: new Uint8Array(16) },
      { name: 'gpt_neox.layers.0.attention.masked_bias', dtype: 'F32', shape: [], data: new Uint8Array(4) },
      { name: 'gpt_neox.layers.1.attention.rotary_emb.inv_freq', dtype: 'F32', shape: [2], data: new Uint8Array(8) },
    ],
  });
  assert.equal(loadModel(buffers).hparams.arch, 'gptneox');
  const junk = folder('junk', { extra: [{ name: 'gpt_neox.layers.0.attention.lora_A', dtype: 'F32', shape: [2], data: new Uint8Array(8) }] });
  expectCode(() => openHfWeights(junk), 'UNEXPECTED_TENSOR', 'gpt_neox.layers.0.attention.lora_A');
});

test('a tensor with a non-float dtype is UNSUPPORTED_TENSOR_TYPE naming it', () => {
  const d = folder('int-weights');
  // The same checkpoint with one weight declared I32 (same byte size).
  const d2 = folder('int-weights2');
  const f = SafetensorsFile.open(join(d, 'model.safetensors'));
  writeSafetensors(join(d2, 'model.safetensors'), {
    tensors: f.tensors.map((t) => ({ name: t.name, dtype: t.name.endsWith('attention.dense.weight') ? 'I32' : t.dtype, shape: t.shape, data: f.readTensor(t, new Uint8Array(t.nBytes)) })),
  });
  f.close();
  expectCode(() => openHfWeights(d2), 'UNSUPPORTED_TENSOR_TYPE', 'gpt_neox.layers.0.attention.dense.weight');
});

test('missing and misshapen tensors are named by their HF name', () => {
  const d = folder('missing');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...readConfig(d), num_hidden_layers: 3 }));
  expectCode(() => openHfWeights(d), 'MISSING_TENSOR', 'gpt_neox.layers.2.');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...readConfig(d), num_hidden_layers: 2, intermediate_size: 96 }));
  expectCode(() => openHfWeights(d), 'TENSOR_SHAPE_MISMATCH', 'gpt_neox.layers.0.mlp.dense_h_to_4h.weight');
});

test('tied output: an absent embed_out is the embedding when tie_word_embeddings says so, a MISSING_TENSOR when not', () => {
  const tiedGguf = join(dir, 'tied.gguf');
  // GPT-NeoX GGUFs always carry output.weight; make it equal to the embedding to compare.
  const f = GgufFile.open(gguf);
  const emb = f.tensorBytes(f.tensor('token_embd.weight')!);
  writeGguf(tiedGguf, { metadata: [...f.metadata], tensors: f.tensors.map((t) => ({ name: t.name, type: t.type, dims: t.dims, data: t.name === 'output.weight' ? emb : f.tensorBytes(t) })) });
  f.close();
  const d = join(dir, 'tied');
  hfDirFromGguf(tiedGguf, d, { config: { tie_word_embeddings: true } });
  // Drop embed_out from the checkpoint.
  const st = SafetensorsFile.open(join(d, 'model.safetensors'));
  const kept = st.tensors.filter((t) => t.name !== 'embed_out.weight').map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: st.readTensor(t, new Uint8Array(t.nBytes)) }));
  st.close();
  writeSafetensors(join(d, 'model.safetensors'), { tensors: kept });
  const ids = [1, 2, 3, 40];
  const a = loadModel(d).model;
  const b = loadModel(tiedGguf).model;
  const la = Float32Array.from(a.forward(ids, loadModel(d).createSession().cache, { logits: 'all' }));
  const lb = Float32Array.from(b.forward(ids, loadModel(tiedGguf).createSession().cache, { logits: 'all' }));
  assert.deepEqual(la, lb);
  writeFileSync(join(d, 'config.json'), JSON.stringify({ ...readConfig(d), tie_word_embeddings: false }));
  expectCode(() => openHfWeights(d), 'MISSING_TENSOR', 'embed_out.weight');
});

test('folder-level errors: no config.json, config not JSON, unsupported model_type before any weight is opened', () => {
  const d = folder('cfg');
  rmSync(join(d, 'config.json'));
  expectCode(() => loadModel(d), 'FILE_NOT_FOUND', 'config.json');
  writeFileSync(join(d, 'config.json'), '{"model_type": "llama",');
  expectCode(() => loadModel(d), 'BAD_HPARAMS', 'not valid JSON');
  writeFileSync(join(d, 'config.json'), JSON.stringify({ model_type: 'bloom' }));
  rmSync(join(d, 'model.safetensors'));
  expectCode(() => loadModel(d), 'UNSUPPORTED_ARCHITECTURE', 'bloom');
});

function readConfig(d: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
}


test('any config.json key replaced by odd JSON values: Hparams or a typed error, never a crash', () => {
  const odd: unknown[] = [null, 0, -1, 1.5, 1e300, 'x', true, [], {}, { type: 'linear' }, { type: 'linear', factor: 0 }];
  const configs: Record<string, unknown>[] = [
    LLAMA,
    { ...LLAMA, model_type: 'qwen2' },
    { model_type: 'gpt_neox', vocab_size: 100, hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_hidden_layers: 2, rotary_pct: 0.25 },
    MPT,
    { model_type: 'falcon', hidden_size: 64, num_attention_heads: 4, num_kv_heads: 2, num_hidden_layers: 2, vocab_size: 100, new_decoder_architecture: true },
  ];
  for (const cfg of configs) {
    const keys = Object.keys(cfg).map((k) => [k]);
    if (cfg['attn_config'] !== undefined) for (const k of Object.keys(cfg['attn_config'] as object)) keys.push(['attn_config', k]);
    for (const path of keys) {
      for (const value of odd) {
        const c = structuredClone(cfg);
        let at = c;
        for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
        at[path.at(-1)!] = value;
        try {
          hp(c);
        } catch (e) {
          assert.ok(e instanceof StreamLlmError, `${path.join('.')} = ${JSON.stringify(value)}: ${String((e as Error)?.stack ?? e)}`);
        }
      }
    }
  }
});
