/**
 * The two ways a pre-norm transformer layer wires its residual:
 *   sequential (Llama, Qwen2, MPT, NeoX without use_parallel_residual):
 *       x += attn(normA(x));  x += mlp(normF(x))
 *   parallel (GPT-NeoX/Pythia, GPT-J, Falcon):
 *       x += attn(normA(x)) + mlp(normF(x))      both norms read the same x
 * Falcon-7B feeds ONE LayerNorm to both branches (`ffnNorm: 'shared'`);
 * Falcon-40B has two (attn_norm_2 for attention, attn_norm for the MLP).
 */
import { StreamLlmError } from '../../errors.js';
import type { GeluMode } from '../types.js';
import { selfAttention, type AttentionWeights, type BlockContext } from './attention.js';
import { feedForward, type FfnWeights } from './ffn.js';
import { applyNorm, type NormKind } from './norm.js';
import type { NormWeights } from './weights.js';

export interface BlockWeights {
  /** Norm in front of attention. */
  readonly attnNorm: NormWeights;
  /** Norm in front of the MLP, or 'shared' to reuse the attention norm's output (parallel only). */
  readonly ffnNorm: NormWeights | 'shared';
  readonly attn: AttentionWeights;
  readonly ffn: FfnWeights;
}

export interface BlockOptions {
  readonly norm: NormKind;
  readonly residual: 'sequential' | 'parallel';
  readonly eps: number;
  readonly gelu: GeluMode;
  readonly clampKqv?: number | undefined;
}

/** A `block` for the Decoder: one layer, in place on the residual stream `c.s.x`. */
export function transformerBlock(layers: readonly BlockWeights[], o: BlockOptions): (c: BlockContext, layer: number) => void {
  if (o.residual === 'sequential' && layers.some((L) => L.ffnNorm === 'shared')) {
    // Sequential blocks normalize the updated stream; there is nothing to share.
    throw new StreamLlmError('BAD_ARGUMENT', "a sequential block needs its own MLP norm ('shared' is for parallel blocks)", { context: { field: 'ffnNorm' } });
  }
  const attnOpts = { clampKqv: o.clampKqv };
  return (c, l) => {
    const { ops, s, n } = c;
    const L = layers[l]!;
    const len = n * c.hp.dim;
    applyNorm(ops, o.norm, s.h1, s.x, L.attnNorm, o.eps, n);
    c.hook?.('attn_norm', l, s.h1.subarray(0, len));
    if (o.residual === 'sequential' && L.ffnNorm !== 'shared') {
      // Sequential: h1 is dead once q/k/v are projected and attnOut once added, so the attention
      // output (when it fits), the MLP's norm and the MLP's output reuse them. A 128-token batch of
      // a 768-wide model then writes 3 x 384 KiB less scratch (s.att, s.h2, s.ffnOut stay untouched).
      const att = c.hp.nHeads * c.hp.headDim <= c.hp.dim ? s.h1 : s.att;
      ops.add(s.x, selfAttention(c, l, s.h1, L.attn, attnOpts, att), len);
      applyNorm(ops, o.norm, s.h1, s.x, L.ffnNorm, o.eps, n);
      ops.add(s.x, feedForward(c, s.h1, L.ffn, o.gelu, s.attnOut), len);
    } else {
      // Both branches read the layer's input, so normalize before touching x.
      let mlpIn = s.h1;
      if (L.ffnNorm !== 'shared') {
        applyNorm(ops, o.norm, s.h2, s.x, L.ffnNorm, o.eps, n);
        mlpIn = s.h2;
      }
      const attn = selfAttention(c, l, s.h1, L.attn, attnOpts);
      const mlp = feedForward(c, mlpIn, L.ffn, o.gelu);
      ops.add(s.x, attn, len);
      ops.add(s.x, mlp, len);
    }
  };
}
