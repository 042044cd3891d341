/**
 * Normalizing hyperparameters at the loader boundary: GGUF metadata (llama.cpp
 * key conventions, `{arch}.embedding_length` etc.) becomes a validated Hparams.
 */
import { StreamLlmError } from '../errors.js';
import { GgufValueType, type GgufEntry } from '../formats/gguf/types.js';
import type { ArchName, Hparams } from './types.js';

/** The subset of GgufFile the normalizer needs (keeps this testable without files). */
export interface MetadataReader {
  readonly name: string;
  getString(key: string, fallback?: string): string;
  getNumber(key: string, fallback?: number): number;
  has(key: string): boolean;
}

export const KNOWN_ARCHS: readonly ArchName[] = ['llama'];

export function archOf(meta: MetadataReader): ArchName {
  const arch = meta.getString('general.architecture');
  if (!(KNOWN_ARCHS as readonly string[]).includes(arch)) {
    throw new StreamLlmError('UNSUPPORTED_ARCHITECTURE', `architecture '${arch}' is not supported yet`, {
      context: { file: meta.name, field: 'general.architecture', actual: arch },
      hint: `supported: ${KNOWN_ARCHS.join(', ')}`,
    });
  }
  return arch as ArchName;
}

/** Throws BAD_HPARAMS naming the field unless `v` is an integer in [min, max]. */
export function checkInt(file: string, field: string, v: number, min = 1, max = 2 ** 31 - 1): number {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new StreamLlmError('BAD_HPARAMS', `${field} = ${v} is not an integer in [${min}, ${max}]`, {
      context: { file, field, actual: v },
    });
  }
  return v;
}

/** Cross-field checks shared by every loader. */
export function validateHparams(hp: Hparams, file: string): Hparams {
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
  if (hp.rope.dims % 2 !== 0 || hp.rope.dims < 2 || hp.rope.dims > hp.headDim) {
    throw new StreamLlmError('BAD_HPARAMS', `rope dimension count ${hp.rope.dims} must be even and ≤ head size ${hp.headDim}`, {
      context: { file, field: 'rope.dimension_count', actual: hp.rope.dims },
    });
  }
  const pos = (field: string, v: number) => {
    if (!(Number.isFinite(v) && v > 0)) {
      throw new StreamLlmError('BAD_HPARAMS', `${field} = ${v} must be a positive number`, { context: { file, field, actual: v } });
    }
  };
  pos('rope.freq_base', hp.rope.base);
  pos('rope.freq_scale', hp.rope.freqScale);
  pos('layer_norm_rms_epsilon', hp.normEps);
  return hp;
}

/** Llama-family hyperparameters from GGUF metadata. `vocabFallback` comes from the embedding shape. */
export function llamaHparamsFromGguf(meta: MetadataReader, vocabFallback: number): Hparams {
  const a = 'llama';
  const k = (s: string) => `${a}.${s}`;
  const dim = meta.getNumber(k('embedding_length'));
  const nHeads = meta.getNumber(k('attention.head_count'));
  checkInt(meta.name, k('attention.head_count'), nHeads);
  const headDim = meta.getNumber(k('attention.key_length'), Math.floor(dim / nHeads));
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
  const hp: Hparams = {
    arch: 'llama',
    vocabSize: meta.getNumber(k('vocab_size'), vocabFallback),
    dim,
    layers: meta.getNumber(k('block_count')),
    nHeads,
    kvHeads: meta.getNumber(k('attention.head_count_kv'), nHeads),
    headDim,
    ffnDim: meta.getNumber(k('feed_forward_length')),
    contextLength: meta.getNumber(k('context_length')),
    normEps: meta.getNumber(k('attention.layer_norm_rms_epsilon'), 1e-5),
    rope: {
      base: meta.getNumber(k('rope.freq_base'), 10000),
      dims: meta.getNumber(k('rope.dimension_count'), headDim),
      // GGUF llama files store Q/K permuted for ggml's "normal" (adjacent-pair) rotation.
      style: 'adjacent',
      freqScale,
    },
  };
  return validateHparams(hp, meta.name);
}

/** llama2.c header → Hparams. run.c fixes RMSNorm eps 1e-5, θ = 10000 and adjacent-pair RoPE. */
export function llama2cHparams(
  c: { dim: number; hiddenDim: number; layers: number; nHeads: number; kvHeads: number; vocabSize: number; seqLen: number },
  file: string,
): Hparams {
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

/**
 * The inverse of `llamaHparamsFromGguf`: llama.cpp's metadata keys for a
 * Llama-family model, as [key, entry] pairs for the GGUF writer.
 */
export function llamaGgufMetadata(hp: Hparams, name: string): [string, GgufEntry][] {
  const a = 'llama';
  const u32 = (v: number): GgufEntry => ({ type: GgufValueType.UINT32, value: v });
  const f32 = (v: number): GgufEntry => ({ type: GgufValueType.FLOAT32, value: v });
  const kv: [string, GgufEntry][] = [
    ['general.architecture', { type: GgufValueType.STRING, value: a }],
    ['general.name', { type: GgufValueType.STRING, value: name }],
    [`${a}.vocab_size`, u32(hp.vocabSize)],
    [`${a}.context_length`, u32(hp.contextLength)],
    [`${a}.embedding_length`, u32(hp.dim)],
    [`${a}.block_count`, u32(hp.layers)],
    [`${a}.feed_forward_length`, u32(hp.ffnDim)],
    [`${a}.attention.head_count`, u32(hp.nHeads)],
    [`${a}.attention.head_count_kv`, u32(hp.kvHeads)],
    [`${a}.attention.layer_norm_rms_epsilon`, f32(hp.normEps)],
    [`${a}.rope.dimension_count`, u32(hp.rope.dims)],
    [`${a}.rope.freq_base`, f32(hp.rope.base)],
  ];
  if (hp.headDim * hp.nHeads !== hp.dim) {
    kv.push([`${a}.attention.key_length`, u32(hp.headDim)], [`${a}.attention.value_length`, u32(hp.headDim)]);
  }
  if (hp.rope.freqScale !== 1) {
    kv.push([`${a}.rope.scaling.type`, { type: GgufValueType.STRING, value: 'linear' }], [`${a}.rope.scaling.factor`, f32(1 / hp.rope.freqScale)]);
  }
  return kv;
}
