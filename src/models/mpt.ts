/**
 * MPT (MosaicML MPT-7B/30B):
 *   x = embed(tokens)                       no positional embedding
 *   per layer:  x += Wo·attn(clamp(Wqkv·ln1(x)))
 *               x += W2·gelu(W1·ln2(x))
 *   logits = Wout · ln(x)                   (Wout tied to the embedding when absent)
 * Position information is ALiBi only: the cache adds -slope[h]·distance to
 * each score, with distances measured inside the cache — under StreamingLLM a
 * window key's distance is its distance in the text and a sink's is its
 * in-cache slot ("contiguous linear bias", paper §3.2). Slopes are ggml's
 * (layers/alibi.ts). `no_bias` MPTs (all released ones) have no biases on
 * linear layers or LayerNorms; either all are present or none.
 *
 * Refused with typed errors: learned absolute position embeddings (their
 * positions are fixed at input time, so a cache cannot re-position them),
 * QK LayerNorm and AWQ activation scales.
 */
import type { Ops } from '../kernels/types.js';
import { StreamLlmError } from '../errors.js';
import { f32, hasTensor, readCommon, requireFullHeads, unsupportedVariant, validateHparams, writeCommon } from './hparams.js';
import { transformerBlock, type BlockWeights } from './layers/block.js';
import { alibiPositional, Decoder, weightBytes } from './layers/decoder.js';
import { linearSpecs, normSpecs, WeightReader } from './layers/weights.js';
import type { ArchModule, BuildOptions, LoadedWeights, MetadataReader, Model, MptHparams, TensorDesc, TensorSpec } from './types.js';

function tensorSpecs(hp: MptHparams): TensorSpec[] {
  const { dim, vocabSize, kvHeads, headDim, ffnDim, bias } = hp;
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize] },
    ...normSpecs('output_norm', dim, bias),
    { name: 'output.weight', dims: [dim, vocabSize], optional: true },
  ];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    specs.push(
      ...normSpecs(`${b}attn_norm`, dim, bias),
      ...linearSpecs(`${b}attn_qkv`, dim, dim + 2 * kvHeads * headDim, bias),
      ...linearSpecs(`${b}attn_output`, dim, dim, bias),
      ...normSpecs(`${b}ffn_norm`, dim, bias),
      ...linearSpecs(`${b}ffn_up`, dim, ffnDim, bias),
      ...linearSpecs(`${b}ffn_down`, ffnDim, dim, bias),
    );
  }
  return specs;
}

function loadLayers(hp: MptHparams, r: WeightReader): BlockWeights[] {
  const { bias } = hp;
  const layers: BlockWeights[] = [];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    layers.push({
      attnNorm: r.norm(`${b}attn_norm`, bias),
      ffnNorm: r.norm(`${b}ffn_norm`, bias),
      attn: { qkv: { kind: 'fused', qkv: r.linear(`${b}attn_qkv`, bias) }, out: r.linear(`${b}attn_output`, bias) },
      ffn: { kind: 'gelu', up: r.linear(`${b}ffn_up`, bias), down: r.linear(`${b}ffn_down`, bias) },
    });
  }
  return layers;
}

function build(hp: MptHparams, w: LoadedWeights, ops: Ops, opts: BuildOptions = {}): Model {
  const r = new WeightReader(w);
  const specs = tensorSpecs(hp);
  const tokEmbd = r.matrix('token_embd.weight');
  return new Decoder({
    hparams: hp,
    ops,
    positional: alibiPositional(hp.nHeads, hp.alibiMaxBias),
    norm: 'layer',
    tokEmbd,
    outNorm: r.norm('output_norm', hp.bias),
    output: { w: w.get('output.weight') ?? tokEmbd, b: undefined },
    fusedQkv: true,
    weightBytes: weightBytes(specs, w),
    block: transformerBlock(loadLayers(hp, r), {
      norm: 'layer',
      residual: 'sequential',
      eps: hp.normEps,
      gelu: opts.gelu ?? 'ggml',
      clampKqv: hp.clampKqv,
    }),
  });
}

/** Tensors some MPT variants carry that this engine refuses, with why. */
const REFUSED: readonly [string, string][] = [
  ['position_embd.weight', 'learned absolute position embeddings (positions must belong to the cache)'],
  ['blk.0.attn_q_norm.weight', 'QK LayerNorm'],
  ['blk.0.ffn_act.scales', 'AWQ activation scales'],
];

/** MPT hyperparameters from GGUF (`mpt.*` keys; biases detected from the tensor table). */
export function mptHparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): MptHparams {
  const common = readCommon(meta, 'mpt', tensors, 'layer_norm_epsilon');
  requireFullHeads(common, meta.name, 'mpt');
  for (const [name, what] of REFUSED) {
    if (hasTensor(tensors, name)) throw unsupportedVariant(meta.name, 'mpt', what, name);
  }
  const alibiMaxBias = meta.getNumber('mpt.attention.max_alibi_bias', 0);
  const clamp = meta.getNumber('mpt.attention.clamp_kqv', 0);
  for (const [field, v] of [['mpt.attention.max_alibi_bias', alibiMaxBias], ['mpt.attention.clamp_kqv', clamp]] as const) {
    if (!(Number.isFinite(v) && v >= 0)) {
      throw new StreamLlmError('BAD_HPARAMS', `${field} = ${v} must be a finite number ≥ 0`, { context: { file: meta.name, field, actual: v } });
    }
  }
  return validateHparams(
    {
      arch: 'mpt',
      ...common,
      alibiMaxBias,
      // llama.cpp clamps only when the value is > 0.
      clampKqv: clamp > 0 ? clamp : undefined,
      bias: hasTensor(tensors, 'blk.0.attn_qkv.bias'),
    },
    meta.name,
  );
}

export const mpt: ArchModule<MptHparams> = {
  name: 'mpt',
  fromGguf: mptHparamsFromGguf,
  ggufMetadata: (hp) => {
    const kv = writeCommon(hp, 'layer_norm_epsilon');
    kv.push(['mpt.attention.max_alibi_bias', f32(hp.alibiMaxBias)]);
    if (hp.clampKqv !== undefined) kv.push(['mpt.attention.clamp_kqv', f32(hp.clampKqv)]);
    return kv;
  },
  tensorSpecs,
  build,
};
