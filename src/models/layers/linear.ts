/**
 * The cheap elementwise pieces around the kernels: bias adds and clamping are
 * O(n·dim) next to the O(n·dim²) matmuls, so they are plain loops here rather
 * than methods on the `Ops` seam.
 */
import type { Ops } from '../../kernels/types.js';
import type { Linear } from './weights.js';

/** out (n, rows) = x (n, cols) · Wᵀ + b. `sameInput`: x is unchanged since the previous linear (see Ops.matmul). */
export function linear(ops: Ops, out: Float32Array, l: Linear, x: Float32Array, n: number, sameInput = false): void {
  ops.matmul(out, l.w, x, n, sameInput);
  if (l.b !== undefined) addBias(out, l.b, n);
}

/** Row-wise out[t, :] += b for t < n. */
export function addBias(out: Float32Array, b: Float32Array, n: number): void {
  const d = b.length;
  for (let t = 0; t < n; t++) {
    const o = t * d;
    for (let i = 0; i < d; i++) out[o + i] = out[o + i]! + b[i]!;
  }
}

/** In place: x = min(max(x, -limit), limit) over `len` elements (ggml_clamp). */
export function clamp(x: Float32Array, limit: number, len: number): void {
  for (let i = 0; i < len; i++) {
    const v = x[i]!;
    if (v > limit) x[i] = limit;
    else if (v < -limit) x[i] = -limit;
  }
}
