/**
 * Hugging Face `config.json` → normalized Hparams, one reader per
 * `model_type`. Defaults are transformers' (a key written as null or left
 * out means its default); variants our architectures do not compute are
 * refused with UNSUPPORTED_ARCHITECTURE naming the key, never loaded wrong.
 *
 * Key facts per family, with where they come from:
 *  - llama / mistral: RMSNorm eps default 1e-6, rope_theta 10000, SwiGLU
 *    ('silu'); `rope` is 'adjacent' because the loader permutes q/k rows
 *    (see tensors.ts), or 'halves' when asked to keep HF's rows.
 *  - qwen2: the Llama block with q/k/v biases, HF rows in the halves layout.
 *  - gpt_neox: rotary_pct (default 0.25) of each head, rotary_emb_base,
 *    use_parallel_residual (default true), biases everywhere.
 *  - mpt: d_model/n_heads/n_layers, expansion_ratio, attn_config { alibi,
 *    alibi_bias_max, clip_qkv, attn_type, kv_n_heads }, no_bias.
 *  - falcon (and the older RefinedWeb / RefinedWebModel types, which imply
 *    new_decoder_architecture true / false): KV heads are num_kv_heads for the
 *    new architecture, else 1 (multi_query) or one per head.
 */
import { StreamLlmError } from '../../errors.js';
import type { RopeStyle } from '../../kernels/types.js';
import { requireFullHeads, unsupportedVariant, validateHparams } from '../hparams.js';
import type { ArchName, CommonHparams, FalconHparams, GptNeoxHparams, Hparams, LlamaHparams, MptHparams, Qwen2Hparams } from '../types.js';
import { HfConfig, isRecord } from './config.js';

export interface HfHparamsContext {
  /** Whether the checkpoint holds a tensor (some variants show only in their tensors). */
  readonly hasTensor: (hfName: string) => boolean;
  /** Llama q/k rows: permuted to GGUF's adjacent pairs (default) or kept in HF's halves. */
  readonly llamaRope: 'permute' | 'halves';
}

type Reader = (cfg: HfConfig, ctx: HfHparamsContext, modelType: string) => Hparams;

/** `model_type` → reader. Mistral is a Llama (its sliding window is informational, see LlamaHparams). */
export const HF_MODEL_TYPES = {
  llama: llamaFromHf,
  mistral: llamaFromHf,
  qwen2: qwen2FromHf,
  gpt_neox: gptneoxFromHf,
  mpt: mptFromHf,
  falcon: falconFromHf,
  RefinedWeb: falconFromHf,
  RefinedWebModel: falconFromHf,
} as const satisfies Record<string, Reader>;

export type HfModelType = keyof typeof HF_MODEL_TYPES;

/** The model_type of a config, refused with the supported list unless known. */
export function hfModelType(cfg: HfConfig): HfModelType {
  const t = cfg.str('model_type');
  if (!Object.hasOwn(HF_MODEL_TYPES, t)) {
    throw new StreamLlmError('UNSUPPORTED_ARCHITECTURE', `model_type '${t}' is not supported`, {
      context: { file: cfg.file, field: 'model_type', actual: t },
      hint: `supported: ${Object.keys(HF_MODEL_TYPES).join(', ')}`,
    });
  }
  return t as HfModelType;
}

/**
 * Validated Hparams for a parsed config.json.
 * @example
 * const hp = hparamsFromHfConfig(HfConfig.from(json, 'config.json'), { hasTensor: (n) => names.has(n), llamaRope: 'permute' });
 */
export function hparamsFromHfConfig(cfg: HfConfig, ctx: HfHparamsContext): Hparams {
  const t = hfModelType(cfg);
  return HF_MODEL_TYPES[t](cfg, ctx, t);
}

/** Refuses a key unless it has its harmless value. */
function refuseUnless(cfg: HfConfig, arch: ArchName, key: string, ok: (v: unknown) => boolean, what: string): void {
  const v = cfg.value(key);
  if (v !== undefined && !ok(v)) throw unsupportedVariant(cfg.file, arch, `${what} (${cfg.field(key)} = ${JSON.stringify(v)})`, cfg.field(key));
}

/** `rope_scaling`: none or linear (positions × 1/factor); other schemes are refused. */
function freqScale(cfg: HfConfig, arch: ArchName): number {
  const rs = cfg.value('rope_scaling');
  if (rs === undefined) return 1;
  if (!isRecord(rs)) throw new StreamLlmError('BAD_HPARAMS', 'rope_scaling must be an object or null', { context: { file: cfg.file, field: 'rope_scaling', actual: rs } });
  const type = rs['rope_type'] ?? rs['type'];
  if (type === 'default') return 1;
  if (type !== 'linear') throw unsupportedVariant(cfg.file, arch, `rope_scaling type '${String(type)}'`, 'rope_scaling', 'supported: none, linear');
  const factor = rs['factor'];
  if (typeof factor !== 'number' || !(factor > 0)) {
    throw new StreamLlmError('BAD_HPARAMS', `rope_scaling.factor = ${JSON.stringify(factor)} must be a positive number`, { context: { file: cfg.file, field: 'rope_scaling.factor' } });
  }
  return 1 / factor;
}

const GELUS = ['gelu', 'gelu_new', 'gelu_fast', 'gelu_pytorch_tanh'];

function llamaCommon(cfg: HfConfig, arch: 'llama' | 'qwen2'): CommonHparams {
  refuseUnless(cfg, arch, 'hidden_act', (v) => v === 'silu', 'an activation other than SiLU');
  refuseUnless(cfg, arch, 'mlp_bias', (v) => v === false, 'MLP biases');
  refuseUnless(cfg, arch, 'partial_rotary_factor', (v) => v === 1, 'partial rotary');
  const dim = cfg.int('hidden_size');
  const nHeads = cfg.int('num_attention_heads');
  return {
    vocabSize: cfg.int('vocab_size'),
    dim,
    layers: cfg.int('num_hidden_layers'),
    nHeads,
    kvHeads: cfg.int('num_key_value_heads', nHeads),
    headDim: cfg.int('head_dim', nHeads > 0 ? Math.floor(dim / nHeads) : 0),
    ffnDim: cfg.int('intermediate_size'),
    contextLength: cfg.int('max_position_embeddings', 2048),
    normEps: cfg.num('rms_norm_eps', 1e-6),
  };
}

function window(cfg: HfConfig, enabled: boolean): { slidingWindow?: number } {
  const w = enabled && cfg.has('sliding_window') ? cfg.int('sliding_window') : 0;
  return w > 0 ? { slidingWindow: w } : {};
}

function llamaFromHf(cfg: HfConfig, ctx: HfHparamsContext): LlamaHparams {
  // Q/K/V/O biases exist in llama.cpp's llama graph but not in ours (yet).
  refuseUnless(cfg, 'llama', 'attention_bias', (v) => v === false, 'attention biases');
  const c = llamaCommon(cfg, 'llama');
  const style: RopeStyle = ctx.llamaRope === 'permute' ? 'adjacent' : 'halves';
  return validateHparams(
    {
      arch: 'llama',
      ...c,
      rope: { base: cfg.num('rope_theta', 10000), dims: c.headDim, style, freqScale: freqScale(cfg, 'llama') },
      ...window(cfg, true),
    },
    cfg.file,
  );
}

function qwen2FromHf(cfg: HfConfig, ctx: HfHparamsContext): Qwen2Hparams {
  const c = llamaCommon(cfg, 'qwen2');
  return validateHparams(
    {
      arch: 'qwen2',
      ...c,
      rope: { base: cfg.num('rope_theta', 10000), dims: c.headDim, style: 'halves', freqScale: freqScale(cfg, 'qwen2') },
      qkvBias: ctx.hasTensor('model.layers.0.self_attn.q_proj.bias'),
      ...window(cfg, cfg.bool('use_sliding_window', false)),
    },
    cfg.file,
  );
}

function gptneoxFromHf(cfg: HfConfig): GptNeoxHparams {
  refuseUnless(cfg, 'gptneox', 'hidden_act', (v) => GELUS.includes(v as string), 'an activation other than GELU');
  refuseUnless(cfg, 'gptneox', 'attention_bias', (v) => v === true, 'attention without biases');
  const dim = cfg.int('hidden_size');
  const nHeads = cfg.int('num_attention_heads');
  const headDim = nHeads > 0 ? Math.floor(dim / nHeads) : 0;
  const c: CommonHparams = {
    vocabSize: cfg.int('vocab_size'),
    dim,
    layers: cfg.int('num_hidden_layers'),
    nHeads,
    kvHeads: nHeads,
    headDim,
    ffnDim: cfg.int('intermediate_size'),
    contextLength: cfg.int('max_position_embeddings', 2048),
    normEps: cfg.num('layer_norm_eps', 1e-5),
  };
  requireFullHeads(c, cfg.file, 'gptneox');
  // transformers: rotary_ndims = int(head_size * rotary_pct).
  const dims = Math.floor(headDim * cfg.num(['rotary_pct', 'partial_rotary_factor'], 0.25));
  return validateHparams(
    {
      arch: 'gptneox',
      ...c,
      rope: { base: cfg.num(['rotary_emb_base', 'rope_theta'], 10000), dims, style: 'halves', freqScale: freqScale(cfg, 'gptneox') },
      parallelResidual: cfg.bool('use_parallel_residual', true),
    },
    cfg.file,
  );
}

function mptFromHf(cfg: HfConfig, ctx: HfHparamsContext): MptHparams {
  const attn = cfg.child('attn_config');
  const ffn = cfg.child('ffn_config');
  refuseUnless(cfg, 'mpt', 'norm_type', (v) => v === 'low_precision_layernorm' || v === 'layernorm', 'a norm other than LayerNorm');
  refuseUnless(cfg, 'mpt', 'logit_scale', () => false, 'scaled logits');
  if (attn !== undefined) {
    refuseUnless(attn, 'mpt', 'qk_ln', (v) => v === false, 'QK LayerNorm');
    refuseUnless(attn, 'mpt', 'qk_gn', (v) => v === false, 'QK GroupNorm');
  }
  if (ffn !== undefined) refuseUnless(ffn, 'mpt', 'ffn_type', (v) => v === 'mptmlp', 'an MLP other than mptmlp');
  // Position embeddings are fixed at input time, so a cache could not re-position them (see mpt.ts).
  if (ctx.hasTensor('transformer.wpe.weight')) throw unsupportedVariant(cfg.file, 'mpt', 'learned absolute position embeddings', 'transformer.wpe.weight');

  const dim = cfg.int('d_model');
  const nHeads = cfg.int('n_heads');
  const attnType = attn?.str('attn_type', 'multihead_attention') ?? 'multihead_attention';
  let kvHeads: number;
  if (attnType === 'multihead_attention') kvHeads = nHeads;
  else if (attnType === 'multiquery_attention') kvHeads = 1;
  else if (attnType === 'grouped_query_attention' && attn !== undefined) kvHeads = attn.int('kv_n_heads');
  else throw unsupportedVariant(cfg.file, 'mpt', `attn_type '${attnType}'`, 'attn_config.attn_type');
  const c: CommonHparams = {
    vocabSize: cfg.int('vocab_size'),
    dim,
    layers: cfg.int('n_layers'),
    nHeads,
    kvHeads,
    headDim: nHeads > 0 ? Math.floor(dim / nHeads) : 0,
    ffnDim: ffn?.has('ffn_hidden_size') === true ? ffn.int('ffn_hidden_size') : Math.round(cfg.num('expansion_ratio', 4) * dim),
    contextLength: cfg.int('max_seq_len', 2048),
    normEps: cfg.num('layer_norm_epsilon', 1e-5),
  };
  requireFullHeads(c, cfg.file, 'mpt');
  const alibi = attn?.bool('alibi', false) ?? false;
  const clip = attn?.has('clip_qkv') === true ? attn.num('clip_qkv') : undefined;
  return validateHparams(
    {
      arch: 'mpt',
      ...c,
      // No ALiBi and no position embedding: a bag of tokens, as llama.cpp reads max_alibi_bias 0.
      alibiMaxBias: alibi ? (attn?.num('alibi_bias_max', 8) ?? 8) : 0,
      clampKqv: clip !== undefined && clip > 0 ? clip : undefined,
      bias: !cfg.bool('no_bias', false),
    },
    cfg.file,
  );
}

function falconFromHf(cfg: HfConfig, _ctx: HfHparamsContext, modelType: string): FalconHparams {
  refuseUnless(cfg, 'falcon', 'alibi', (v) => v === false, 'ALiBi (Falcon-RW)');
  refuseUnless(cfg, 'falcon', 'bias', (v) => v === false, 'linear biases');
  refuseUnless(cfg, 'falcon', 'parallel_attn', (v) => v === true, 'sequential attention and MLP');
  const newArch = cfg.bool('new_decoder_architecture', modelType === 'RefinedWeb');
  const dim = cfg.int('hidden_size');
  const nHeads = cfg.int(['num_attention_heads', 'n_head']);
  const headDim = nHeads > 0 ? Math.floor(dim / nHeads) : 0;
  const c: CommonHparams = {
    vocabSize: cfg.int('vocab_size'),
    dim,
    layers: cfg.int(['num_hidden_layers', 'n_layer']),
    nHeads,
    // transformers' FalconAttention: num_kv_heads only for the new architecture.
    kvHeads: newArch ? cfg.int(['num_kv_heads', 'n_head_kv'], nHeads) : cfg.bool('multi_query', true) ? 1 : nHeads,
    headDim,
    ffnDim: cfg.int('ffn_hidden_size', 4 * dim),
    contextLength: cfg.int('max_position_embeddings', 2048),
    normEps: cfg.num('layer_norm_epsilon', 1e-5),
  };
  requireFullHeads(c, cfg.file, 'falcon');
  return validateHparams(
    {
      arch: 'falcon',
      ...c,
      rope: { base: cfg.num('rope_theta', 10000), dims: headDim, style: 'halves', freqScale: freqScale(cfg, 'falcon') },
      // Two LayerNorms (ln_attn, ln_mlp) only in the new architecture with num_ln_in_parallel_attn 2 (its default).
      separateAttnNorm: newArch && cfg.int('num_ln_in_parallel_attn', 2) === 2,
    },
    cfg.file,
  );
}
