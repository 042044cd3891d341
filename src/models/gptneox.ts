/**
 * GPT-NeoX (Pythia, GPT-NeoX-20B):
 *   x = embed(tokens)
 *   per layer, use_parallel_residual (every Pythia):
 *       x += Wo·attn(qkv(ln1(x))) + W2·gelu(W1·ln2(x))
 *   otherwise the sequential pre-norm residual.
 *   logits = Wout · ln(x)
 * LayerNorms and every linear layer carry biases; Q/K/V come from one fused
 * matrix; RoPE rotates only the first `rope.dimension_count` dimensions of each
 * head (rotary_pct · head size, 25% in Pythia), in the halves ("neox") layout.
 *
 * The HF checkpoint interleaves q/k/v per head inside query_key_value;
 * llama.cpp's converter regroups the rows as [Q | K | V] and that is the
 * layout GGUF files hold (layers/attention.ts splits it).
 */
import type { Ops } from '../kernels/types.js';
import { bool, readCommon, readRope, requireFullHeads, validateHparams, writeCommon, writeRope } from './hparams.js';
import { transformerBlock, type BlockWeights } from './layers/block.js';
import { Decoder, ropePositional, weightBytes } from './layers/decoder.js';
import { linearSpecs, normSpecs, WeightReader } from './layers/weights.js';
import type { ArchModule, BuildOptions, GptNeoxHparams, LoadedWeights, MetadataReader, Model, TensorDesc, TensorSpec } from './types.js';

function tensorSpecs(hp: GptNeoxHparams): TensorSpec[] {
  const { dim, vocabSize, kvHeads, headDim, ffnDim } = hp;
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize] },
    ...normSpecs('output_norm', dim, true),
    { name: 'output.weight', dims: [dim, vocabSize] },
  ];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    specs.push(
      ...normSpecs(`${b}attn_norm`, dim, true),
      ...linearSpecs(`${b}attn_qkv`, dim, dim + 2 * kvHeads * headDim, true),
      ...linearSpecs(`${b}attn_output`, dim, dim, true),
      ...normSpecs(`${b}ffn_norm`, dim, true),
      ...linearSpecs(`${b}ffn_up`, dim, ffnDim, true),
      ...linearSpecs(`${b}ffn_down`, ffnDim, dim, true),
    );
  }
  return specs;
}

function loadLayers(hp: GptNeoxHparams, r: WeightReader): BlockWeights[] {
  const layers: BlockWeights[] = [];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    layers.push({
      attnNorm: r.norm(`${b}attn_norm`, true),
      ffnNorm: r.norm(`${b}ffn_norm`, true),
      attn: { qkv: { kind: 'fused', qkv: r.linear(`${b}attn_qkv`, true) }, out: r.linear(`${b}attn_output`, true) },
      ffn: { kind: 'gelu', up: r.linear(`${b}ffn_up`, true), down: r.linear(`${b}ffn_down`, true) },
    });
  }
  return layers;
}

function build(hp: GptNeoxHparams, w: LoadedWeights, ops: Ops, opts: BuildOptions = {}): Model {
  const r = new WeightReader(w);
  const specs = tensorSpecs(hp);
  return new Decoder({
    hparams: hp,
    ops,
    positional: ropePositional(hp.rope),
    norm: 'layer',
    tokEmbd: r.matrix('token_embd.weight'),
    outNorm: r.norm('output_norm', true),
    output: r.linear('output', false),
    fusedQkv: true,
    weightBytes: weightBytes(specs, w),
    block: transformerBlock(loadLayers(hp, r), {
      norm: 'layer',
      residual: hp.parallelResidual ? 'parallel' : 'sequential',
      eps: hp.normEps,
      gelu: opts.gelu ?? 'ggml',
    }),
  });
}

/** GPT-NeoX hyperparameters from GGUF (`gptneox.*` keys, as llama.cpp's converter writes them). */
export function gptneoxHparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): GptNeoxHparams {
  const common = readCommon(meta, 'gptneox', tensors, 'layer_norm_epsilon');
  requireFullHeads(common, meta.name, 'gptneox');
  return validateHparams(
    {
      arch: 'gptneox',
      ...common,
      rope: readRope(meta, 'gptneox', common.headDim, 'halves'),
      // Required, as in llama.cpp: the two residual wirings give different models.
      parallelResidual: meta.getBool('gptneox.use_parallel_residual'),
    },
    meta.name,
  );
}

export const gptneox: ArchModule<GptNeoxHparams> = {
  name: 'gptneox',
  fromGguf: gptneoxHparamsFromGguf,
  ggufMetadata: (hp) => [
    ...writeCommon(hp, 'layer_norm_epsilon'),
    ...writeRope('gptneox', hp.rope),
    ['gptneox.use_parallel_residual', bool(hp.parallelResidual)],
  ],
  tensorSpecs,
  build,
};
