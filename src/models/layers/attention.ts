/**
 * Self-attention through the cache seam: project, hand the cache UN-positioned
 * q/k/v (it applies RoPE or ALiBi at the positions its policy assigns), then
 * the output projection. Fused QKV follows llama.cpp's `build_qkv`: one matrix
 * whose output rows are [Q (all heads) | K (kv heads) | V (kv heads)], bias
 * added, then clamped if the model says so (MPT clip_qkv), then split. The
 * converters reorder Falcon's per-group and NeoX's per-head interleaving into
 * this layout when they write GGUF.
 */
import type { KvCache } from '../../cache/types.js';
import type { Ops } from '../../kernels/types.js';
import type { CommonHparams, TensorHook } from '../types.js';
import { clamp, linear } from './linear.js';
import type { Scratch } from './scratch.js';
import type { Linear } from './weights.js';

export type QkvWeights =
  | { readonly kind: 'fused'; readonly qkv: Linear }
  | { readonly kind: 'separate'; readonly q: Linear; readonly k: Linear; readonly v: Linear };

export interface AttentionWeights {
  readonly qkv: QkvWeights;
  readonly out: Linear;
}

/** What a block needs to run one layer of a batch. */
export interface BlockContext {
  readonly ops: Ops;
  readonly hp: CommonHparams;
  readonly s: Scratch;
  readonly n: number;
  readonly cache: KvCache;
  readonly hook: TensorHook | undefined;
}

export interface AttentionOptions {
  /** Clamp the projected q/k/v to ±clampKqv (after biases). */
  readonly clampKqv?: number | undefined;
}

/**
 * s.attnOut (n, dim) = Wo · attention(input) (+ bo). `input` is (n, dim),
 * already normed. The attention output before Wo goes to `att` (s.att, or a
 * dead buffer the block lends: see block.ts).
 */
export function selfAttention(c: BlockContext, layer: number, input: Float32Array, w: AttentionWeights, opts: AttentionOptions = {}, att: Float32Array = c.s.att): Float32Array {
  const { ops, hp, s, n } = c;
  const qd = hp.nHeads * hp.headDim;
  const kd = hp.kvHeads * hp.headDim;
  const lim = opts.clampKqv;
  if (w.qkv.kind === 'fused') {
    const row = qd + 2 * kd;
    linear(ops, s.qkv, w.qkv.qkv, input, n);
    if (lim !== undefined) clamp(s.qkv, lim, n * row);
    for (let t = 0; t < n; t++) {
      const o = t * row;
      s.q.set(s.qkv.subarray(o, o + qd), t * qd);
      s.k.set(s.qkv.subarray(o + qd, o + qd + kd), t * kd);
      s.v.set(s.qkv.subarray(o + qd + kd, o + row), t * kd);
    }
  } else {
    linear(ops, s.q, w.qkv.q, input, n);
    linear(ops, s.k, w.qkv.k, input, n, true);
    linear(ops, s.v, w.qkv.v, input, n, true);
    if (lim !== undefined) {
      clamp(s.q, lim, n * qd);
      clamp(s.k, lim, n * kd);
      clamp(s.v, lim, n * kd);
    }
  }
  c.cache.attend(layer, s.q, s.k, s.v, att);
  c.hook?.('attn_out', layer, att.subarray(0, n * qd));
  linear(ops, s.attnOut, w.out, att, n);
  return s.attnOut;
}
