/**
 * Falcon (7B/40B/180B, as llama.cpp's `falcon`):
 *   x = embed(tokens)
 *   per layer:  a = ln(x)                                  attn_norm
 *               x += Wo·attn(qkv(a')) + W2·gelu(W1·a)
 *       7B style:  a' = a         one LayerNorm feeds both branches, multi-query (1 KV head)
 *       40B style: a' = ln₂(x)    attn_norm_2, grouped KV (head_count_kv > 1)
 *   logits = Wout · ln(x)         (Wout tied to the embedding when absent)
 * No linear biases; LayerNorms have them. RoPE over the whole head, halves layout.
 *
 * Fused QKV: HF Falcon stores query_key_value per KV group — each group's
 * n_head/n_kv query heads, then its key, then its value. llama.cpp's
 * converter (the "jploski" tensor_data_layout) regroups the rows into
 * [all Q heads | all K heads | all V heads], which is what layers/attention.ts
 * splits; query head h then uses KV head ⌊h / (n_head/n_kv)⌋ — its original
 * group, so grouping survives the reordering.
 */
import type { Ops } from '../kernels/types.js';
import { hasTensor, readCommon, readRope, requireFullHeads, str, unsupportedVariant, validateHparams, writeCommon, writeRope } from './hparams.js';
import { transformerBlock, type BlockWeights } from './layers/block.js';
import { Decoder, ropePositional, weightBytes } from './layers/decoder.js';
import { linearSpecs, normSpecs, WeightReader } from './layers/weights.js';
import type { ArchModule, BuildOptions, FalconHparams, LoadedWeights, MetadataReader, Model, TensorDesc, TensorSpec } from './types.js';

/** The only fused-QKV row order any Falcon GGUF converter writes. */
const QKV_LAYOUT = 'jploski';

function tensorSpecs(hp: FalconHparams): TensorSpec[] {
  const { dim, vocabSize, kvHeads, headDim, ffnDim } = hp;
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize] },
    ...normSpecs('output_norm', dim, true),
    { name: 'output.weight', dims: [dim, vocabSize], optional: true },
  ];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    specs.push(...normSpecs(`${b}attn_norm`, dim, true));
    if (hp.separateAttnNorm) specs.push(...normSpecs(`${b}attn_norm_2`, dim, true));
    specs.push(
      ...linearSpecs(`${b}attn_qkv`, dim, dim + 2 * kvHeads * headDim, false),
      ...linearSpecs(`${b}attn_output`, dim, dim, false),
      ...linearSpecs(`${b}ffn_up`, dim, ffnDim, false),
      ...linearSpecs(`${b}ffn_down`, ffnDim, dim, false),
    );
  }
  return specs;
}

function loadLayers(hp: FalconHparams, r: WeightReader): BlockWeights[] {
  const layers: BlockWeights[] = [];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    const norm = r.norm(`${b}attn_norm`, true);
    layers.push({
      // 40B: attention reads attn_norm_2 and the MLP reads attn_norm; 7B: both read attn_norm.
      attnNorm: hp.separateAttnNorm ? r.norm(`${b}attn_norm_2`, true) : norm,
      ffnNorm: hp.separateAttnNorm ? norm : 'shared',
      attn: { qkv: { kind: 'fused', qkv: r.linear(`${b}attn_qkv`, false) }, out: r.linear(`${b}attn_output`, false) },
      ffn: { kind: 'gelu', up: r.linear(`${b}ffn_up`, false), down: r.linear(`${b}ffn_down`, false) },
    });
  }
  return layers;
}

function build(hp: FalconHparams, w: LoadedWeights, ops: Ops, opts: BuildOptions = {}): Model {
  const r = new WeightReader(w);
  const specs = tensorSpecs(hp);
  const tokEmbd = r.matrix('token_embd.weight');
  return new Decoder({
    hparams: hp,
    ops,
    positional: ropePositional(hp.rope),
    norm: 'layer',
    tokEmbd,
    outNorm: r.norm('output_norm', true),
    output: { w: w.get('output.weight') ?? tokEmbd, b: undefined },
    fusedQkv: true,
    weightBytes: weightBytes(specs, w),
    block: transformerBlock(loadLayers(hp, r), { norm: 'layer', residual: 'parallel', eps: hp.normEps, gelu: opts.gelu ?? 'ggml' }),
  });
}

/** Falcon hyperparameters from GGUF (`falcon.*`); the 40B style is recognized by its attn_norm_2 tensors. */
export function falconHparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): FalconHparams {
  const common = readCommon(meta, 'falcon', tensors, 'layer_norm_epsilon');
  requireFullHeads(common, meta.name, 'falcon');
  const layout = meta.getString('falcon.tensor_data_layout', QKV_LAYOUT);
  if (layout !== QKV_LAYOUT) {
    throw unsupportedVariant(meta.name, 'falcon', `tensor_data_layout '${layout}'`, 'falcon.tensor_data_layout', `only '${QKV_LAYOUT}' ([Q | K | V] rows) is known`);
  }
  const rope = readRope(meta, 'falcon', common.headDim, 'halves');
  if (rope.dims !== common.headDim) {
    // llama.cpp refuses this too ("invalid n_rot"): Falcon rotates whole heads.
    throw unsupportedVariant(meta.name, 'falcon', `partial rotary (${rope.dims} of ${common.headDim} dims)`, 'falcon.rope.dimension_count');
  }
  return validateHparams({ arch: 'falcon', ...common, rope, separateAttnNorm: hasTensor(tensors, 'blk.0.attn_norm_2.weight') }, meta.name);
}

export const falcon: ArchModule<FalconHparams> = {
  name: 'falcon',
  fromGguf: falconHparamsFromGguf,
  ggufMetadata: (hp) => [...writeCommon(hp, 'layer_norm_epsilon'), ...writeRope('falcon', hp.rope), ['falcon.tensor_data_layout', str(QKV_LAYOUT)]],
  tensorSpecs,
  build,
};
