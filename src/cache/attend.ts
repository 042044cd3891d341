/**
 * Shared attention arithmetic for the cache policies: one query head against
 * runs of keys/values ("segments"), with the positional bias the policy's
 * positions imply. Policies decide *which* segments and *which* positions;
 * this file only does the math through the kernel seam.
 */
import type { Ops } from '../kernels/types.js';
import type { CacheGeometry } from './types.js';

/**
 * A run of keys/values. Mutable and reused by the policies: the decode hot
 * path allocates nothing per token, so an endless stream does not churn the
 * garbage collector (and RSS stays flat).
 */
export class Segment {
  keys: Float32Array = EMPTY;
  values: Float32Array = EMPTY;
  /** Element offset of the segment's first row for kv head 0. */
  offset = 0;
  /** Elements between kv heads. */
  headStride = 0;
  /** Elements between consecutive rows (keys) of one head. */
  rowStride = 0;
  count = 0;
  /**
   * Distance (query position - key position) of the segment's first key;
   * later keys are one closer each. Used only by ALiBi.
   */
  firstDistance = 0;

  /** A run of slots in (kvHeads, capacity, headDim) storage. */
  storage(keys: Float32Array, values: Float32Array, capacity: number, headDim: number, start: number, count: number, firstDistance: number): this {
    return this.set(keys, values, start * headDim, capacity * headDim, headDim, count, firstDistance);
  }

  /** A run of tokens in a (n, kvHeads, headDim) batch buffer, as the model hands them over. */
  batch(keys: Float32Array, values: Float32Array, kvHeads: number, headDim: number, start: number, count: number, firstDistance: number): this {
    const row = kvHeads * headDim;
    return this.set(keys, values, start * row, headDim, row, count, firstDistance);
  }

  private set(keys: Float32Array, values: Float32Array, offset: number, headStride: number, rowStride: number, count: number, firstDistance: number): this {
    this.keys = keys;
    this.values = values;
    this.offset = offset;
    this.headStride = headStride;
    this.rowStride = rowStride;
    this.count = count;
    this.firstDistance = firstDistance;
    return this;
  }
}

const EMPTY = new Float32Array(0);

/** Copy `n` floats (no subarray views: nothing allocated on the hot path). */
export function copyF32(dst: Float32Array, dstOff: number, src: Float32Array, srcOff: number, n: number): void {
  for (let i = 0; i < n; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/**
 * out[oOff..+headDim) = softmax(scale * q·K + bias) · V over all segments.
 * `scores` must hold at least the total key count.
 */
export function attendHead(
  ops: Ops,
  g: CacheGeometry,
  head: number,
  q: Float32Array,
  qOff: number,
  segments: readonly Segment[],
  nSegments: number,
  scores: Float32Array,
  out: Float32Array,
  oOff: number,
): void {
  const d = g.headDim;
  const kvHead = Math.floor(head / (g.nHeads / g.kvHeads));
  let total = 0;
  for (let i = 0; i < nSegments; i++) {
    const s = segments[i]!;
    if (s.count === 0) continue;
    const base = s.offset + kvHead * s.headStride;
    ops.dotRows(scores, total, q, qOff, s.keys, base, s.rowStride, s.count, d, g.scale);
    if (g.positional.kind === 'alibi') {
      const slope = g.positional.slopes[head]!;
      for (let j = 0; j < s.count; j++) scores[total + j] = scores[total + j]! - slope * (s.firstDistance - j);
    }
    total += s.count;
  }
  ops.softmax(scores, 0, total);
  out.fill(0, oOff, oOff + d);
  total = 0;
  for (let i = 0; i < nSegments; i++) {
    const s = segments[i]!;
    if (s.count === 0) continue;
    const base = s.offset + kvHead * s.headStride;
    ops.axpyRows(out, oOff, scores, total, s.values, base, s.rowStride, s.count, d);
    total += s.count;
  }
}
