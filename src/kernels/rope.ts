/** RoPE frequency tables, computed once per model in float64. */
import type { RopeSpec, RopeStyle } from './types.js';

export interface RopeParams {
  style: RopeStyle;
  /** Rotated dimensions per head (even, ≤ head size). */
  dims: number;
  /** θ base, 10000 for Llama-2. */
  base: number;
  /** Linear position scaling: positions are multiplied by this (1 = none). */
  freqScale?: number;
  /** Optional per-pair divisors (GGUF `rope_freqs.weight`, Llama-3.1 style). */
  freqFactors?: Float32Array;
}

export function ropeSpec(p: RopeParams): RopeSpec {
  const half = p.dims / 2;
  const invFreq = new Float64Array(half);
  const scale = p.freqScale ?? 1;
  for (let i = 0; i < half; i++) {
    const f = Math.pow(p.base, (-2 * i) / p.dims) * scale;
    invFreq[i] = p.freqFactors !== undefined ? f / p.freqFactors[i]! : f;
  }
  return { style: p.style, dims: p.dims, invFreq };
}
