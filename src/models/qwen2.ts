/**
 * Qwen2 (and Qwen1.5 dense): the Llama block (llama.ts) with biases on the
 * Q/K/V projections, and RoPE in the halves ("neox") layout — llama.cpp's
 * rope type for `qwen2` is NEOX because Qwen2 GGUF weights are written
 * without the Llama Q/K permutation. An optional `output.bias` is added to
 * the logits, as llama.cpp does.
 *
 * Qwen2's `use_sliding_window` is off in released checkpoints and llama.cpp
 * ignores the key for `qwen2`; as for Mistral, the cache policy decides what
 * each query sees.
 */
import { hasTensor, readCommon, readRope, readSlidingWindow, u32, validateHparams, writeCommon, writeRope } from './hparams.js';
import { buildLlamaStyle, llamaStyleSpecs } from './llama.js';
import type { ArchModule, MetadataReader, Qwen2Hparams, TensorDesc } from './types.js';

/** Qwen2 hyperparameters from GGUF (`qwen2.*` keys; biases detected from the tensor table). */
export function qwen2HparamsFromGguf(meta: MetadataReader, tensors: readonly TensorDesc[]): Qwen2Hparams {
  const common = readCommon(meta, 'qwen2', tensors, 'layer_norm_rms_epsilon');
  const slidingWindow = readSlidingWindow(meta, 'qwen2');
  return validateHparams(
    {
      arch: 'qwen2',
      ...common,
      rope: readRope(meta, 'qwen2', common.headDim, 'halves'),
      // All layers or none: a partial set is then reported by name at load time.
      qkvBias: hasTensor(tensors, 'blk.0.attn_q.bias'),
      ...(slidingWindow !== undefined ? { slidingWindow } : {}),
    },
    meta.name,
  );
}

export const qwen2: ArchModule<Qwen2Hparams> = {
  name: 'qwen2',
  fromGguf: qwen2HparamsFromGguf,
  ggufMetadata: (hp) => {
    const kv = [...writeCommon(hp, 'layer_norm_rms_epsilon'), ...writeRope('qwen2', hp.rope)];
    if (hp.slidingWindow !== undefined) kv.push(['qwen2.attention.sliding_window', u32(hp.slidingWindow)]);
    return kv;
  },
  tensorSpecs: llamaStyleSpecs,
  build: (hp, weights, ops) => buildLlamaStyle(hp, weights, ops, llamaStyleSpecs(hp)),
};
