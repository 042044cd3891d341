/** RMSNorm or LayerNorm, the one switch every block makes on its normalization. */
import type { Ops } from '../../kernels/types.js';
import type { NormWeights } from './weights.js';

export type NormKind = 'rms' | 'layer';

/** out = norm(x) · w (+ b), row by row over n rows. RMSNorm has no bias. */
export function applyNorm(ops: Ops, kind: NormKind, out: Float32Array, x: Float32Array, w: NormWeights, eps: number, n: number): void {
  if (kind === 'rms') ops.rmsnorm(out, x, w.w, eps, n);
  else ops.layernorm(out, x, w.w, w.b, eps, n);
}
