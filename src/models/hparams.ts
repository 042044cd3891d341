/**
 * Normalizing hyperparameters at the loader boundary, the parts every
 * architecture shares: llama.cpp's GGUF key conventions (`{arch}.embedding_length`,
 * `{arch}.rope.freq_base`, ...) read into validated numbers, and written back
 * for the GGUF writer. Each architecture file adds its own keys on top.
 */
import { StreamLlmError } from '../errors.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import type { RopeStyle } from '../kernels/types.js';
import type { ArchName, CommonHparams, Hparams, LlamaHparams, MetadataReader, RopeHparams, TensorDesc } from './types.js';

export type { MetadataReader } from './types.js';

/** Throws BAD_HPARAMS naming the field unless `v` is an integer in [min, max]. */
export function checkInt(file: string, field: string, v: number, min = 1, max = 2 ** 31 - 1): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new StreamLlmError('BAD_HPARAMS', `${field} = ${v} is not an integer in [${min}, ${max}]`, {
      context: { file, field, actual: v },
    });
  }
  return v;
}

function checkPositive(file: string, field: string, v: number): void {
  if (!(Number.isFinite(v) && v > 0)) {
    throw new StreamLlmError('BAD_HPARAMS', `${field} = ${v} must be a positive number`, { context: { file, field, actual: v } });
  }
}

/** A variant of a known architecture this engine does not run (a typed refusal, not a crash later). */
export function unsupportedVariant(file: string, arch: ArchName, what: string, field: string, hint?: string): StreamLlmError {
  return new StreamLlmError('UNSUPPORTED_ARCHITECTURE', `${arch}: ${what} is not supported`, {
    context: { file, field, actual: what },
    ...(hint !== undefined ? { hint } : {}),
  });
}

/** Cross-field checks shared by every loader. */
export function validateHparams<H extends Hparams>(hp: H, file: string): H {
  const f = (field: string, v: number, min = 1) => checkInt(file, field, v, min);
  f('vocab_size', hp.vocabSize);
  f('embedding_length', hp.dim);
  f('block_count', hp.layers);
  f('head_count', hp.nHeads);
  f('head_count_kv', hp.kvHeads);
  f('head_dim', hp.headDim);
  f('feed_forward_length', hp.ffnDim);
  f('context_length', hp.contextLength);
  if (hp.nHeads % hp.kvHeads !== 0) {
    throw new StreamLlmError('BAD_HPARAMS', `head_count ${hp.nHeads} is not a multiple of head_count_kv ${hp.kvHeads}`, {
      context: { file, field: 'attention.head_count_kv', actual: hp.kvHeads },
    });
  }
  if ('rope' in hp) {
    const r = hp.rope;
    if (r.dims % 2 !== 0 || r.dims < 2 || r.dims > hp.headDim) {
      throw new StreamLlmError('BAD_HPARAMS', `rope dimension count ${r.dims} must be even and ≤ head size ${hp.headDim}`, {
        context: { file, field: 'rope.dimension_count', actual: r.dims },
      });
    }
    checkPositive(file, 'rope.freq_base', r.base);
    checkPositive(file, 'rope.freq_scale', r.freqScale);
  }
  checkPositive(file, 'layer_norm_epsilon', hp.normEps);
  return hp;
}

/** The keys every architecture shares. `eps` names the norm's epsilon key. */
export function readCommon(meta: MetadataReader, arch: ArchName, tensors: readonly TensorDesc[], eps: 'layer_norm_epsilon' | 'layer_norm_rms_epsilon'): CommonHparams {
  const k = (s: string) => `${arch}.${s}`;
  const dim = meta.getNumber(k('embedding_length'));
  const nHeads = meta.getNumber(k('attention.head_count'));
  checkInt(meta.name, k('attention.head_count'), nHeads);
  // The embedding's row count when the file has no vocab_size key (llama.cpp counts tokenizer tokens).
  const vocabFallback = tensors.find((t) => t.name === 'token_embd.weight')?.dims[1] ?? 0;
  return {
    vocabSize: meta.getNumber(k('vocab_size'), vocabFallback),
    dim,
    layers: meta.getNumber(k('block_count')),
    nHeads,
    kvHeads: meta.getNumber(k('attention.head_count_kv'), nHeads),
    headDim: meta.getNumber(k('attention.key_length'), Math.floor(dim / nHeads)),
    ffnDim: meta.getNumber(k('feed_forward_length')),
    contextLength: meta.getNumber(k('context_length')),
    normEps: meta.getNumber(k(`attention.${eps}`), eps === 'layer_norm_rms_epsilon' ? 1e-5 : undefined),
  };
}

/**
 * RoPE keys. `style` is the architecture's, not the file's: llama.cpp fixes
 * it per architecture (llama_model_rope_type), e.g. NORM for llama, NEOX for
 * gptneox, falcon and qwen2.
 */
export function readRope(meta: MetadataReader, arch: ArchName, headDim: number, style: RopeStyle): RopeHparams {
  const k = (s: string) => `${arch}.${s}`;
  let freqScale = 1;
  const scaling = meta.getString(k('rope.scaling.type'), 'none');
  if (scaling === 'linear') {
    freqScale = 1 / meta.getNumber(k('rope.scaling.factor'), 1);
  } else if (scaling !== 'none') {
    throw new StreamLlmError('BAD_HPARAMS', `RoPE scaling '${scaling}' is not supported yet`, {
      context: { file: meta.name, field: k('rope.scaling.type'), actual: scaling },
      hint: 'supported: none, linear',
    });
  } else if (meta.has(k('rope.scale_linear'))) {
    freqScale = 1 / meta.getNumber(k('rope.scale_linear'));
  }
  return {
    base: meta.getNumber(k('rope.freq_base'), 10000),
    dims: meta.getNumber(k('rope.dimension_count'), headDim),
    style,
    freqScale,
  };
}

/** `{arch}.attention.sliding_window` if present and non-zero (Mistral-style files). */
export function readSlidingWindow(meta: MetadataReader, arch: ArchName): number | undefined {
  const key = `${arch}.attention.sliding_window`;
  if (!meta.has(key)) return undefined;
  const w = meta.getNumber(key);
  return w > 0 ? checkInt(meta.name, key, w) : undefined;
}

export function hasTensor(tensors: readonly TensorDesc[], name: string): boolean {
  return tensors.some((t) => t.name === name);
}

/** Fused QKV layouts (`attn_qkv`) assume heads tile the embedding exactly, as llama.cpp does. */
export function requireFullHeads(hp: CommonHparams, file: string, arch: ArchName): void {
  if (hp.nHeads * hp.headDim !== hp.dim) {
    throw unsupportedVariant(file, arch, `head size ${hp.headDim} × ${hp.nHeads} heads ≠ embedding ${hp.dim}`, `${arch}.attention.key_length`);
  }
}

export const u32 = (v: number): GgufEntry => ({ type: GgufValueType.UINT32, value: v });
export const f32 = (v: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value: v });
export const bool = (v: boolean): GgufEntry => ({ type: GgufValueType.BOOL, value: v });
export const str = (v: string): GgufEntry => ({ type: GgufValueType.STRING, value: v });

/** The inverse of `readCommon` (+ `general.architecture`). */
export function writeCommon(hp: Hparams, eps: 'layer_norm_epsilon' | 'layer_norm_rms_epsilon'): [string, GgufEntry][] {
  const a = hp.arch;
  const kv: [string, GgufEntry][] = [
    ['general.architecture', str(a)],
    [`${a}.context_length`, u32(hp.contextLength)],
    [`${a}.embedding_length`, u32(hp.dim)],
    [`${a}.block_count`, u32(hp.layers)],
    [`${a}.feed_forward_length`, u32(hp.ffnDim)],
    [`${a}.attention.head_count`, u32(hp.nHeads)],
    [`${a}.attention.head_count_kv`, u32(hp.kvHeads)],
    [`${a}.attention.${eps}`, f32(hp.normEps)],
  ];
  if (hp.headDim * hp.nHeads !== hp.dim) {
    kv.push([`${a}.attention.key_length`, u32(hp.headDim)], [`${a}.attention.value_length`, u32(hp.headDim)]);
  }
  return kv;
}

/** The inverse of `readRope`. */
export function writeRope(arch: ArchName, r: RopeHparams): [string, GgufEntry][] {
  const kv: [string, GgufEntry][] = [
    [`${arch}.rope.dimension_count`, u32(r.dims)],
    [`${arch}.rope.freq_base`, f32(r.base)],
  ];
  if (r.freqScale !== 1) {
    kv.push([`${arch}.rope.scaling.type`, str('linear')], [`${arch}.rope.scaling.factor`, f32(1 / r.freqScale)]);
  }
  return kv;
}

/** llama2.c header → Hparams. run.c fixes RMSNorm eps 1e-5, θ = 10000 and adjacent-pair RoPE. */
export function llama2cHparams(
  c: { dim: number; hiddenDim: number; layers: number; nHeads: number; kvHeads: number; vocabSize: number; seqLen: number },
  file: string,
): LlamaHparams {
  const headDim = c.dim / c.nHeads;
  return validateHparams(
    {
      arch: 'llama',
      vocabSize: c.vocabSize,
      dim: c.dim,
      layers: c.layers,
      nHeads: c.nHeads,
      kvHeads: c.kvHeads,
      headDim,
      ffnDim: c.hiddenDim,
      contextLength: c.seqLen,
      normEps: 1e-5,
      rope: { base: 10000, dims: headDim, style: 'adjacent', freqScale: 1 },
    },
    file,
  );
}
