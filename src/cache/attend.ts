/**
 * Shared attention arithmetic for the cache policies: one query head against
 * runs of keys/values ("segments"), with the positional bias the policy's
 * positions imply. Policies decide *which* segments and *which* positions;
 * this file only does the math through the kernel seam.
 */
import type { Ops } from '../kernels/types.js';
import type { CacheGeometry } from './types.js';

export interface Segment {
  readonly keys: Float32Array;
  readonly values: Float32Array;
  /** Element offset of the segment's first row for kv head 0. */
  readonly offset: number;
  /** Elements between kv heads. */
  readonly headStride: number;
  /** Elements between consecutive rows (keys) of one head. */
  readonly rowStride: number;
  readonly count: number;
  /**
   * Distance (query position - key position) of the segment's first key;
   * later keys are one closer each. Used only by ALiBi.
   */
  readonly firstDistance: number;
}

/** A run of slots in (kvHeads, capacity, headDim) storage. */
export function storageSegment(
  keys: Float32Array,
  values: Float32Array,
  capacity: number,
  headDim: number,
  start: number,
  count: number,
  firstDistance: number,
): Segment {
  return { keys, values, offset: start * headDim, headStride: capacity * headDim, rowStride: headDim, count, firstDistance };
}

/** A run of tokens in a (n, kvHeads, headDim) batch buffer, as the model hands them over. */
export function batchSegment(
  keys: Float32Array,
  values: Float32Array,
  kvHeads: number,
  headDim: number,
  start: number,
  count: number,
  firstDistance: number,
): Segment {
  const row = kvHeads * headDim;
  return { keys, values, offset: start * row, headStride: headDim, rowStride: row, count, firstDistance };
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
  scores: Float32Array,
  out: Float32Array,
  oOff: number,
): void {
  const d = g.headDim;
  const kvHead = Math.floor(head / (g.nHeads / g.kvHeads));
  let total = 0;
  for (const s of segments) {
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
  for (const s of segments) {
    if (s.count === 0) continue;
    const base = s.offset + kvHead * s.headStride;
    ops.axpyRows(out, oOff, scores, total, s.values, base, s.rowStride, s.count, d);
    total += s.count;
  }
}
