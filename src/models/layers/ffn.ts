/** The MLP: SwiGLU (Llama, Qwen2) or GELU (GPT-NeoX, Falcon, MPT), biases optional. */
import type { GeluMode } from '../types.js';
import type { BlockContext } from './attention.js';
import { applyGelu } from './gelu.js';
import { linear } from './linear.js';
import type { Linear } from './weights.js';

export type FfnWeights =
  /** down · (silu(gate · x) ⊙ up · x) */
  | { readonly kind: 'swiglu'; readonly gate: Linear; readonly up: Linear; readonly down: Linear }
  /** down · gelu(up · x) */
  | { readonly kind: 'gelu'; readonly up: Linear; readonly down: Linear };

/** out (n, dim; s.ffnOut unless the block lends a dead buffer) = MLP(input). `input` is (n, dim), already normed. */
export function feedForward(c: BlockContext, input: Float32Array, w: FfnWeights, gelu: GeluMode = 'ggml', out: Float32Array = c.s.ffnOut): Float32Array {
  const { ops, s, n } = c;
  const len = n * c.hp.ffnDim;
  if (w.kind === 'swiglu') {
    linear(ops, s.f1, w.gate, input, n);
    linear(ops, s.f2, w.up, input, n, true);
    ops.swiglu(s.f1, s.f2, len);
  } else {
    linear(ops, s.f1, w.up, input, n);
    applyGelu(ops, gelu, s.f1, len);
  }
  linear(ops, out, w.down, s.f1, n);
  return out;
}
