/**
 * Llama (and llama2.c, TinyLlama, SmolLM, Mistral-style) decoder:
 *   x = embed(tokens)
 *   per layer:  x += Wo · attn(Wq·rms(x), Wk·rms(x), Wv·rms(x))
 *               x += W2 · (silu(W1·rms(x)) * W3·rms(x))
 *   logits = Wout · rms(x)        (Wout tied to the embedding when absent)
 * RoPE and the choice of visible tokens belong to the cache policy (see
 * cache/types.ts). Qwen2 is this block with Q/K/V biases (see qwen2.ts).
 *
 * Mistral: its GGUF files are `llama` files with grouped KV and a large
 * rope.freq_base. A `sliding_window` key, when present, is recorded in
 * Hparams but does not restrict attention: the session's cache policy decides
 * which tokens a query sees (llama.cpp ignores the key for `llama` as well).
 */
import type { Ops } from '../kernels/types.js';
import type { GgufEntry } from '../formats/gguf/types.js';
import { readCommon, readRope, readSlidingWindow, str, u32, validateHparams, writeCommon, writeRope } from './hparams.js';
import { transformerBlock, type BlockWeights } from './layers/block.js';
import { Decoder, ropePositional, weightBytes } from './layers/decoder.js';
import { linearSpecs, normSpecs, WeightReader } from './layers/weights.js';
import type { ArchModule, LlamaHparams, LoadedWeights, MetadataReader, Model, Qwen2Hparams, TensorDesc, TensorSpec } from './types.js';

/** The two families built from this block. */
type LlamaLike = LlamaHparams | Qwen2Hparams;

const qkvBias = (hp: LlamaLike): boolean => hp.arch === 'qwen2' && hp.qkvBias;

/** The Llama-block tensor table; Qwen2 adds Q/K/V biases and an optional output bias. */
export function llamaStyleSpecs(hp: LlamaLike): TensorSpec[] {
  const { dim, vocabSize, nHeads, kvHeads, headDim, ffnDim } = hp;
  const bias = qkvBias(hp);
  // Order matters to writeRandomModel: it draws tensors from one RNG in this order.
  const specs: TensorSpec[] = [
    { name: 'token_embd.weight', dims: [dim, vocabSize] },
    { name: 'output_norm.weight', dims: [dim] },
    { name: 'output.weight', dims: [dim, vocabSize], optional: true },
  ];
  if (hp.arch === 'llama') specs.push({ name: 'rope_freqs.weight', dims: [hp.rope.dims / 2], optional: true });
  else specs.push({ name: 'output.bias', dims: [vocabSize], optional: true });
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    specs.push(
      ...normSpecs(`${b}attn_norm`, dim, false),
      ...linearSpecs(`${b}attn_q`, dim, nHeads * headDim, bias),
      ...linearSpecs(`${b}attn_k`, dim, kvHeads * headDim, bias),
      ...linearSpecs(`${b}attn_v`, dim, kvHeads * headDim, bias),
      ...linearSpecs(`${b}attn_output`, nHeads * headDim, dim, false),
      ...normSpecs(`${b}ffn_norm`, dim, false),
      ...linearSpecs(`${b}ffn_gate`, dim, ffnDim, false),
      ...linearSpecs(`${b}ffn_up`, dim, ffnDim, false),
      ...linearSpecs(`${b}ffn_down`, ffnDim, dim, false),
    );
  }
  return specs;
}

function loadLayers(hp: LlamaLike, r: WeightReader): BlockWeights[] {
  const bias = qkvBias(hp);
  const layers: BlockWeights[] = [];
  for (let l = 0; l < hp.layers; l++) {
    const b = `blk.${l}.`;
    layers.push({
      attnNorm: r.norm(`${b}attn_norm`, false),
      attn: {
        qkv: { kind: 'separate', q: r.linear(`${b}attn_q`, bias), k: r.linear(`${b}attn_k`, bias), v: r.linear(`${b}attn_v`, bias) },
        out: r.linear(`${b}attn_output`, false),
      },
      ffnNorm: r.norm(`${b}ffn_norm`, false),
      ffn: { kind: 'swiglu', gate: r.linear(`${b}ffn_gate`, false), up: r.linear(`${b}ffn_up`, false), down: r.linear(`${b}ffn_down`, false) },
    });
  }
  return layers;
}

/** Build a Llama-block model (Llama or Qwen2 Hparams). */
export function buildLlamaStyle<H extends LlamaLike>(hp: H, w: LoadedWeights, ops: Ops, specs: readonly TensorSpec[]): Model {
  const r = new WeightReader(w);
  const tokEmbd = r.matrix('token_embd.weight');
  const layers = loadLayers(hp, r);
  return new Decoder({
    hparams: hp,
    ops,
    positional: ropePositional(hp.rope, w.vector('rope_freqs.weight')),
    norm: 'rms',
    tokEmbd,
    outNorm: r.norm('output_norm', false),
    // No output.weight means the classifier is tied to the embedding (llama2.c "shared").
    output: { w: w.get('output.weight') ?? tokEmbd, b: w.vector('output.bias') },
    fusedQkv: false,
    weightBytes: weightBytes(specs, w),
    block: transformerBlock(layers, { norm: 'rms', residual: 'sequential', eps: hp.normEps, gelu: 'tanh' }),
  });
}

/** Llama-family hyperparameters from GGUF metadata (llama.cpp's `llama.*` keys). */
export function llamaHparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): LlamaHparams {
  const common = readCommon(meta, 'llama', tensors, 'layer_norm_rms_epsilon');
  const slidingWindow = readSlidingWindow(meta, 'llama');
  return validateHparams(
    {
      arch: 'llama',
      ...common,
      // GGUF llama files store Q/K permuted for ggml's "normal" (adjacent-pair) rotation.
      rope: readRope(meta, 'llama', common.headDim, 'adjacent'),
      ...(slidingWindow !== undefined ? { slidingWindow } : {}),
    },
    meta.name,
  );
}

/**
 * The inverse of `llamaHparamsFromGguf`: llama.cpp's metadata keys for a
 * Llama-family model, as [key, entry] pairs for the GGUF writer.
 */
export function llamaGgufMetadata(hp: LlamaHparams, name?: string): [string, GgufEntry][] {
  const kv = writeCommon(hp, 'layer_norm_rms_epsilon');
  if (name !== undefined) kv.splice(1, 0, ['general.name', str(name)]);
  kv.push(['llama.vocab_size', u32(hp.vocabSize)], ...writeRope('llama', hp.rope));
  if (hp.slidingWindow !== undefined) kv.push(['llama.attention.sliding_window', u32(hp.slidingWindow)]);
  return kv;
}

export const llama: ArchModule<LlamaHparams> = {
  name: 'llama',
  fromGguf: llamaHparamsFromGguf,
  ggufMetadata: (hp) => llamaGgufMetadata(hp),
  tensorSpecs: llamaStyleSpecs,
  build: (hp, weights, ops) => buildLlamaStyle(hp, weights, ops, llamaStyleSpecs(hp)),
};
