/**
 * Typed access to a layer's weights, and the tensor-table entries that go with
 * them, so an architecture names each tensor once ("blk.3.attn_qkv") and gets
 * both its `.weight`/`.bias` specs and, at build time, the loaded values.
 */
import { StreamLlmError } from '../../errors.js';
import type { WeightMatrix } from '../../kernels/types.js';
import type { LoadedWeights, TensorSpec } from '../types.js';

/** y = W·x (+ b). */
export interface Linear {
  readonly w: WeightMatrix;
  readonly b: Float32Array | undefined;
}

/** A norm's gain (+ shift, for LayerNorm with bias). */
export interface NormWeights {
  readonly w: Float32Array;
  readonly b: Float32Array | undefined;
}

/** Specs for `${prefix}.weight` (ggml dims [in, out]) and, with `bias`, `${prefix}.bias` [out]. */
export function linearSpecs(prefix: string, inDim: number, outDim: number, bias: boolean): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: `${prefix}.weight`, dims: [inDim, outDim] }];
  if (bias) specs.push({ name: `${prefix}.bias`, dims: [outDim] });
  return specs;
}

export function normSpecs(prefix: string, dim: number, bias: boolean): TensorSpec[] {
  const specs: TensorSpec[] = [{ name: `${prefix}.weight`, dims: [dim] }];
  if (bias) specs.push({ name: `${prefix}.bias`, dims: [dim] });
  return specs;
}

function missing(name: string): StreamLlmError {
  return new StreamLlmError('MISSING_TENSOR', `tensor '${name}' is missing`, { context: { tensor: name } });
}

/** Loaded weights by prefix; a missing required tensor is a typed error naming it. */
export class WeightReader {
  constructor(private readonly w: LoadedWeights) {}

  matrix(name: string): WeightMatrix {
    const m = this.w.get(name);
    if (m === undefined) throw missing(name);
    return m;
  }

  vector(name: string): Float32Array {
    const v = this.w.vector(name);
    if (v === undefined) throw missing(name);
    return v;
  }

  linear(prefix: string, bias: boolean): Linear {
    return { w: this.matrix(`${prefix}.weight`), b: bias ? this.vector(`${prefix}.bias`) : undefined };
  }

  norm(prefix: string, bias: boolean): NormWeights {
    return { w: this.vector(`${prefix}.weight`), b: bias ? this.vector(`${prefix}.bias`) : undefined };
  }
}
